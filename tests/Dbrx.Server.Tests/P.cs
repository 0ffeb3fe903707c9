public static class P { }
