// Compiled by MSBuild's RoslynCodeTaskFactory (see Dbrx.Inference.targets beside this file); not part of the library.
//
// TorchSharp 0.107's native wrapper (libLibTorchSharp.so) was linked against GCC 13's libstdc++ and requires symbol
// version GLIBCXX_3.4.32 for one symbol only, std::ios_base_library_init(), which the wrapper names but never calls
// (no relocation refers to it). Debian 12 and Ubuntu 22.04 ship libstdc++ up to GLIBCXX_3.4.30, so the dynamic loader
// refuses the wrapper ("version `GLIBCXX_3.4.32' not found"). Marking that one version requirement weak
// (VER_FLG_WEAK in its Elf64_Vernaux entry) makes the loader accept a libstdc++ without it; nothing else changes.
// The copy in a build or publish output is patched, never the NuGet cache: the file is rewritten through a copy and
// a rename, so a hard link into the cache is broken rather than written through. RoslynCodeTaskFactory compiles
// against netstandard2.0, hence the plain APIs.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class DbrxPatchTorchSharpWrapper : Task
{
    const string Version = "GLIBCXX_3.4.32";
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    static readonly string[] SystemLibStdCxx =
    {
        "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/lib64/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
    };

    /// <summary>Folders that may hold libLibTorchSharp.so; those without it are skipped.</summary>
    [Required]
    public string[] Directories { get; set; } = Array.Empty<string>();

    /// <summary>The system's libstdc++ to check; empty: the first of the usual locations that exists.</summary>
    public string LibStdCxx { get; set; } = "";

    public override bool Execute()
    {
        foreach (string directory in Directories)
        {
            string wrapper = Path.Combine(directory, "libLibTorchSharp.so");
            if (!File.Exists(wrapper)) continue;
            try
            {
                Patch(wrapper);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Log.LogError($"Dbrx.Inference: could not patch {wrapper} so that it loads with this system's libstdc++: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    void Patch(string wrapper)
    {
        byte[] elf = File.ReadAllBytes(wrapper);
        int flagsAt = FindVersionFlags(elf, wrapper);
        if (flagsAt < 0) return;                                   // the wrapper does not ask for the version
        ushort flags = BitConverter.ToUInt16(elf, flagsAt);
        if ((flags & VerFlgWeak) != 0) return;                     // patched already
        string libstdcxx = LibStdCxx.Length > 0 ? LibStdCxx : Array.Find(SystemLibStdCxx, File.Exists);
        if (libstdcxx != null && Encoding.ASCII.GetString(File.ReadAllBytes(libstdcxx)).Contains(Version + "\0"))
            return;                                                // this system's libstdc++ defines it: leave the wrapper alone

        string temporary = wrapper + ".dbrx-patch";
        File.Copy(wrapper, temporary, overwrite: true);            // keeps the file mode
        using (var stream = new FileStream(temporary, FileMode.Open, FileAccess.Write))
        {
            stream.Position = flagsAt;
            stream.Write(BitConverter.GetBytes((ushort)(flags | VerFlgWeak)), 0, 2);
        }
        File.Replace(temporary, wrapper, null);
        Log.LogMessage(MessageImportance.Normal, $"Dbrx.Inference: marked {Version} weak in {wrapper} (this system's libstdc++ lacks it)");
    }

    /// <summary>The file offset of vna_flags in the Elf64_Vernaux entry naming <see cref="Version"/>, or -1.</summary>
    static int FindVersionFlags(byte[] elf, string path)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException($"{path} is not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file");
        long sectionTable = (long)ReadUInt64(elf, 0x28, path);
        int sectionSize = ReadUInt16(elf, 0x3a, path), sectionCount = ReadUInt16(elf, 0x3c, path);
        for (int i = 0; i < sectionCount; i++)
        {
            long header = sectionTable + (long)i * sectionSize;
            if (ReadUInt32(elf, header + 4, path) != ShtGnuVerneed) continue;
            long needs = (long)ReadUInt64(elf, header + 0x18, path);
            uint strings = ReadUInt32(elf, header + 0x28, path);   // sh_link: the section holding the names
            long names = (long)ReadUInt64(elf, sectionTable + (long)strings * sectionSize + 0x18, path);
            int needCount = (int)ReadUInt32(elf, header + 0x2c, path);   // sh_info: how many Elf64_Verneed entries
            long need = needs;
            for (int n = 0; n < needCount; n++)
            {
                int auxCount = ReadUInt16(elf, need + 2, path);
                long aux = need + ReadUInt32(elf, need + 8, path);
                for (int a = 0; a < auxCount; a++)
                {
                    if (ReadName(elf, names + ReadUInt32(elf, aux + 8, path), path) == Version) return checked((int)(aux + 4));
                    aux += ReadUInt32(elf, aux + 12, path);
                }
                need += ReadUInt32(elf, need + 12, path);
            }
        }
        return -1;
    }

    static string ReadName(byte[] elf, long at, string path)
    {
        int end = Array.IndexOf(elf, (byte)0, (int)Check(elf, at, 1, path));
        if (end < 0) throw new InvalidDataException($"{path}: unterminated version name at offset {at}");
        return Encoding.ASCII.GetString(elf, (int)at, end - (int)at);
    }

    static ushort ReadUInt16(byte[] elf, long at, string path) => BitConverter.ToUInt16(elf, (int)Check(elf, at, 2, path));
    static uint ReadUInt32(byte[] elf, long at, string path) => BitConverter.ToUInt32(elf, (int)Check(elf, at, 4, path));
    static ulong ReadUInt64(byte[] elf, long at, string path) => BitConverter.ToUInt64(elf, (int)Check(elf, at, 8, path));

    static long Check(byte[] elf, long at, int size, string path) =>
        at >= 0 && at + size <= elf.Length ? at : throw new InvalidDataException($"{path} is truncated or corrupt (offset {at} is outside the file)");
}
