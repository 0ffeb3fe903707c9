using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Dbrx.Analyzers;

/// <summary>
/// Refuses TorchSharp values that live only for the length of an expression while native code reads them.
/// </summary>
/// <remarks>
/// A TorchSharp <c>Scalar</c> owns native memory and has a finalizer. When one is created inside an expression
/// (<c>row &lt; 10</c>, <c>x * 0.5f</c>, <c>masked_fill(mask, float.NegativeInfinity)</c>, <c>x.mul(2.ToScalar())</c>),
/// nothing references it once its handle has been passed to libtorch, so a garbage collection on another thread can
/// run its finalizer and free the scalar while libtorch still reads it: an error ("Expected false to be true ...
/// Scalar.h:140") or, worse, a wrong value read from reused memory. Scalars are not tracked by dispose scopes. The
/// only safe Scalars are named ones that outlive the call: a field (a rooted constant) or a <c>using</c> local, whose
/// disposal after the call keeps it alive until then. The same holds for the tensor that C#'s implicit conversion from
/// a number creates, and for TorchSharp's own members that make such a Scalar inside (<c>a + b</c> adds with a
/// temporary alpha of 1, <c>t * 2</c> converts the 2, <c>ToSingle()</c> reads through one): those are listed in
/// ScalarDroppingMembers.txt, written from TorchSharp's source by analyzers/TorchSharpScan.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class TorchSharpTemporaryAnalyzer : DiagnosticAnalyzer
{
    /// <summary>A conversion operator creates a Scalar or tensor that nothing keeps alive.</summary>
    public static readonly DiagnosticDescriptor ConvertedTemporary = new(
        "DBRX0001",
        "TorchSharp value created by a conversion",
        "'{0}' is converted to a temporary {1} that a garbage collection can free while libtorch reads it; use a "
            + "static readonly field or a 'using' local created with ToScalar()/torch.tensor()",
        "Reliability",
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    /// <summary>A Scalar made by a call is used without being stored where it stays alive.</summary>
    public static readonly DiagnosticDescriptor UnstoredScalar = new(
        "DBRX0002",
        "Temporary TorchSharp Scalar",
        "The Scalar returned by '{0}' is a temporary that a garbage collection can free while libtorch reads it; "
            + "store it in a static readonly field or a 'using' local that outlives the call",
        "Reliability",
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    /// <summary>A TorchSharp member that creates a Scalar inside and drops it while libtorch may read it.</summary>
    public static readonly DiagnosticDescriptor ScalarDroppingMember = new(
        "DBRX0003",
        "TorchSharp member drops a temporary Scalar",
        "'{0}' creates a Scalar inside TorchSharp that a garbage collection can free while libtorch reads it; call the "
            + "overload that takes the Scalar (add(other, alpha), mul(scalar)) with one that stays alive, or item<T>() "
            + "to read a value",
        "Reliability",
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        [ConvertedTemporary, UnstoredScalar, ScalarDroppingMember];

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var scalar = start.Compilation.GetTypeByMetadataName("TorchSharp.Scalar");
            var tensor = start.Compilation.GetTypeByMetadataName("TorchSharp.torch+Tensor");
            if (scalar is null || tensor is null)
                return;
            start.RegisterOperationAction(c => CheckConversion(c, scalar, tensor), OperationKind.Conversion);
            start.RegisterOperationAction(c => CheckCall(c, scalar), OperationKind.Invocation);
            start.RegisterOperationAction(CheckOperator, OperationKind.Binary, OperationKind.Unary, OperationKind.CompoundAssignment);
        });
    }

    private static void CheckConversion(OperationAnalysisContext context, INamedTypeSymbol scalar, INamedTypeSymbol tensor)
    {
        var conversion = (IConversionOperation)context.Operation;
        if (conversion.OperatorMethod is null || conversion.Type is not { } target)
            return;
        bool toScalar = SymbolEqualityComparer.Default.Equals(target, scalar);
        bool toTensor = SymbolEqualityComparer.Default.Equals(target, tensor)
            && !SymbolEqualityComparer.Default.Equals(conversion.Operand.Type, tensor);
        if (toScalar || toTensor)
        {
            context.ReportDiagnostic(Diagnostic.Create(ConvertedTemporary, conversion.Syntax.GetLocation(),
                conversion.Operand.Syntax.ToString(), toScalar ? "Scalar" : "Tensor"));
        }
        else if (DropsScalar(conversion.OperatorMethod))
        {
            context.ReportDiagnostic(Diagnostic.Create(ScalarDroppingMember, conversion.Syntax.GetLocation(),
                conversion.Syntax.ToString()));
        }
    }

    private static void CheckCall(OperationAnalysisContext context, INamedTypeSymbol scalar)
    {
        var call = (IInvocationOperation)context.Operation;
        if (IsTorchScriptCall(call.TargetMethod) ? PassesScalarsToTorchScript(call) : DropsScalar(call.TargetMethod))
            context.ReportDiagnostic(Diagnostic.Create(ScalarDroppingMember, call.Syntax.GetLocation(), call.TargetMethod.Name));
        else if (SymbolEqualityComparer.Default.Equals(call.Type, scalar) && !IsStoredAlive(call))
            context.ReportDiagnostic(Diagnostic.Create(UnstoredScalar, call.Syntax.GetLocation(), call.TargetMethod.Name));
    }

    private static void CheckOperator(OperationAnalysisContext context)
    {
        var method = context.Operation switch
        {
            IBinaryOperation binary => binary.OperatorMethod,
            IUnaryOperation unary => unary.OperatorMethod,
            ICompoundAssignmentOperation compound => compound.OperatorMethod,
            _ => null,
        };
        if (method is not null && DropsScalar(method))
        {
            context.ReportDiagnostic(Diagnostic.Create(ScalarDroppingMember, context.Operation.Syntax.GetLocation(),
                context.Operation.Syntax.ToString()));
        }
    }

    /// <summary>A call into TorchScript (<c>torch.jit</c>): it drops a Scalar only for the arguments it converts.</summary>
    private static bool IsTorchScriptCall(IMethodSymbol method) =>
        method.ContainingType?.ContainingType is { Name: "jit", ContainingType.Name: "torch" };

    /// <summary>
    /// TorchScript's <c>invoke</c> passes tensors, bools and ints to libtorch as they are but makes a temporary Scalar
    /// of each float, double and long (and cannot be checked for an argument array built elsewhere).
    /// </summary>
    private static bool PassesScalarsToTorchScript(IInvocationOperation call)
    {
        foreach (var argument in call.Arguments)
        {
            if (argument.ArgumentKind != ArgumentKind.ParamArray)
                continue;
            if (argument.Value is not IArrayCreationOperation { Initializer: { } initializer })
                return true;
            foreach (var element in initializer.ElementValues)
            {
                var value = element is IConversionOperation { IsImplicit: true } boxing ? boxing.Operand : element;
                if (value.Type?.SpecialType is SpecialType.System_Single or SpecialType.System_Double or SpecialType.System_Int64
                    or SpecialType.System_Object or null)
                    return true;
            }
        }
        return false;
    }

    private static bool DropsScalar(IMethodSymbol method) =>
        method.OriginalDefinition.GetDocumentationCommentId() is { } id && ScalarDroppingMembers.Contains(id);

    /// <summary>The list analyzers/TorchSharpScan wrote from TorchSharp's source (see analyzers/README.md).</summary>
    private static readonly HashSet<string> ScalarDroppingMembers = ReadMembers();

    private static HashSet<string> ReadMembers()
    {
        using var stream = typeof(TorchSharpTemporaryAnalyzer).Assembly.GetManifestResourceStream("ScalarDroppingMembers.txt")
            ?? throw new InvalidOperationException("ScalarDroppingMembers.txt is not embedded in Dbrx.Analyzers");
        using var reader = new StreamReader(stream);
        var members = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0 && line[0] != '#')
                members.Add(line);
        }
        return members;
    }

    /// <summary>Whether a call's Scalar goes straight into a field or a <c>using</c> local.</summary>
    private static bool IsStoredAlive(IOperation value)
    {
        var parent = value.Parent;
        while (parent is IConversionOperation { IsImplicit: true })
            parent = parent.Parent;
        switch (parent)
        {
            case IFieldInitializerOperation:
                return true;
            case ISimpleAssignmentOperation assignment when assignment.Target is IFieldReferenceOperation:
                return true;
            case IVariableInitializerOperation initializer:
                IOperation? declaration = initializer.Parent;
                while (declaration is IVariableDeclaratorOperation or IVariableDeclarationOperation or IVariableDeclarationGroupOperation)
                    declaration = declaration.Parent;
                return declaration is IUsingDeclarationOperation or IUsingOperation;
            default:
                return false;
        }
    }
}
