// Lists TorchSharp's public members that create a Scalar inside and drop it while libtorch may still read it: a
// conversion operator to Scalar, or a ToScalar() not kept in a local, directly or through any member they call.
// Usage: dotnet run --project analyzers/TorchSharpScan -- PATH/TO/TorchSharp/src/TorchSharp > analyzers/Dbrx.Analyzers/ScalarDroppingMembers.txt
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

var parse = new CSharpParseOptions(LanguageVersion.Latest, preprocessorSymbols: ["NET6_0_OR_GREATER", "NETCOREAPP"]);
var trees = Directory.GetFiles(args[0], "*.cs", SearchOption.AllDirectories)
    .Select(path => CSharpSyntaxTree.ParseText(File.ReadAllText(path), parse, path)).ToList();
var framework = Directory.GetFiles(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "*.dll")
    .Select(path => MetadataReference.CreateFromFile(path));
var compilation = CSharpCompilation.Create("TorchSharp", trees, framework,
    new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
var scalar = compilation.GetTypeByMetadataName("TorchSharp.Scalar")
    ?? throw new InvalidOperationException($"{args[0]} holds no TorchSharp.Scalar: give the folder src/TorchSharp");

var callees = new Dictionary<ISymbol, HashSet<ISymbol>>(SymbolEqualityComparer.Default);
var dropping = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
foreach (var tree in trees)
{
    var model = compilation.GetSemanticModel(tree);
    foreach (var body in tree.GetRoot().DescendantNodes().Where(HasBody))
    {
        if (Member(model, body) is not { } member || model.GetOperation(body) is not { } root)
            continue;
        if (!callees.TryGetValue(member, out var called))
            callees[member] = called = new(SymbolEqualityComparer.Default);
        foreach (var operation in root.DescendantsAndSelf())
        {
            if (DropsScalar(operation, scalar))
                dropping.Add(member);
            if (Callee(operation) is { } callee)
                called.Add(callee.OriginalDefinition);
        }
    }
}

// A member that calls a dropping member drops a Scalar too.
for (bool grew = true; grew;)
{
    grew = false;
    foreach (var (member, called) in callees)
        if (!dropping.Contains(member) && called.Any(dropping.Contains))
            grew |= dropping.Add(member);
}

Console.WriteLine("# TorchSharp members that drop a temporary Scalar while libtorch may read it.");
Console.WriteLine("# Written by analyzers/TorchSharpScan; read by Dbrx.Analyzers (rule DBRX0003). One documentation id a line.");
foreach (var id in dropping.Where(IsPublic).Where(m => m.ContainingType?.Name != "Scalar")
             .Select(m => m.GetDocumentationCommentId()).OfType<string>().Distinct().Order(StringComparer.Ordinal))
    Console.WriteLine(id);

static bool HasBody(SyntaxNode node) =>
    node is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or PropertyDeclarationSyntax { ExpressionBody: not null };

static ISymbol? Member(SemanticModel model, SyntaxNode body) => body switch
{
    PropertyDeclarationSyntax property => model.GetDeclaredSymbol(property)?.GetMethod,
    _ => model.GetDeclaredSymbol(body),
};

static bool DropsScalar(IOperation operation, INamedTypeSymbol scalar) => operation switch
{
    IConversionOperation { OperatorMethod: not null } conversion => SymbolEqualityComparer.Default.Equals(conversion.Type, scalar),
    IInvocationOperation { TargetMethod.Name: "ToScalar" } call => call.Parent is not IVariableInitializerOperation,
    _ => false,
};

static ISymbol? Callee(IOperation operation) => operation switch
{
    IInvocationOperation call => call.TargetMethod,
    IBinaryOperation { OperatorMethod: { } method } => method,
    IUnaryOperation { OperatorMethod: { } method } => method,
    IConversionOperation { OperatorMethod: { } method } => method,
    IPropertyReferenceOperation { Property.GetMethod: { } getter } => getter,
    IObjectCreationOperation { Constructor: { } constructor } => constructor,
    _ => null,
};

static bool IsPublic(ISymbol symbol) =>
    symbol.DeclaredAccessibility == Accessibility.Public && (symbol.ContainingType is null || IsPublic(symbol.ContainingType));
