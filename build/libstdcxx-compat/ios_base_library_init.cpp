// Stand-in for std::ios_base_library_init(), which GCC 13's libstdc++ (symbol version GLIBCXX_3.4.32)
// added and which TorchSharp's native wrapper references from its static initialisers.
// Older libstdc++ (GCC 12 and before) initialises the standard streams by itself, so an empty body
// is the correct behaviour there. Only ever linked into a wrapper patched by patch-torchsharp-native.sh.
namespace std
{
    void ios_base_library_init() {}
}
