# Renders the cases in cases.json with Jinja2 and dbrx_chat_template.jinja (the reference template) into
# expected.json, which DbrxChatTemplateTests compares against. Needs Python 3 with jinja2; run from this folder.
import json
from jinja2.sandbox import ImmutableSandboxedEnvironment

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)  # as transformers renders chat templates
template = env.from_string(open("dbrx_chat_template.jinja", encoding="utf-8").read())
cases = json.load(open("cases.json", encoding="utf-8"))
expected = [
    {"name": c["name"], "add_generation_prompt": g, "text": template.render(messages=c["messages"], add_generation_prompt=g)}
    for c in cases for g in (False, True)
]
json.dump(expected, open("expected.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)
