"""A router's view of a replica's KV events, with pyzmq and msgpack (not the .NET code under test).

Usage: kv_events_subscriber.py ENDPOINT TOPIC. Subscribes, prints "subscribed", then for each message prints one JSON
line: its sequence number, the blocks held per medium after replaying it, the blocks it stored (hash, parent, tokens),
and any inconsistency (a block removed that was not held, a stored block whose parent is not held). Stops on stdin EOF.
"""
import json
import struct
import sys
import threading

import msgpack
import zmq

endpoint, topic = sys.argv[1], sys.argv[2]
context = zmq.Context()
socket = context.socket(zmq.SUB)
socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
socket.setsockopt(zmq.RCVTIMEO, 200)
socket.connect(endpoint)
print("subscribed", flush=True)

stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

held = {"GPU": set(), "CPU": set()}
while not stop.is_set():
    try:
        frames = socket.recv_multipart()
    except zmq.Again:
        continue
    errors = []
    if len(frames) != 3:
        errors.append(f"{len(frames)} frames")
        print(json.dumps({"errors": errors}), flush=True)
        continue
    received_topic, sequence, payload = frames
    (seq,) = struct.unpack(">q", sequence)
    timestamp, events, dp_rank = msgpack.unpackb(payload, raw=False)
    stored = []
    for event in events:
        tag = event[0]
        if tag == "BlockStored":
            hashes, parent, tokens, block_size, lora_id, medium = event[1:7]
            for i, block in enumerate(hashes):
                block_parent = parent if i == 0 else hashes[i - 1]
                if block_parent is not None and block_parent not in held["GPU"] | held["CPU"]:
                    errors.append(f"block {block} stored after {block_parent}, which is not held")
                held[medium].add(block)
                stored.append([block, block_parent, tokens[i * block_size:(i + 1) * block_size]])
        elif tag == "BlockRemoved":
            hashes, medium = event[1], event[2]
            for block in hashes:
                if block not in held[medium]:
                    errors.append(f"block {block} removed from {medium}, where it is not held")
                held[medium].discard(block)
        elif tag == "AllBlocksCleared":
            held = {"GPU": set(), "CPU": set()}
        else:
            errors.append(f"unknown event {tag}")
    print(json.dumps({
        "topic": received_topic.decode(), "seq": seq, "timestamp": timestamp, "dp_rank": dp_rank,
        "gpu": len(held["GPU"]), "cpu": len(held["CPU"]), "stored": stored, "errors": errors,
    }), flush=True)
socket.close(0)
context.term()
