using System.Diagnostics;

namespace Dbrx.Cli.Bench;

/// <summary>A time per step, from rounds of steps repeated until they agree.</summary>
/// <param name="SecondsPerStep">The median round's seconds per step.</param>
/// <param name="Steps">Steps timed in all.</param>
/// <param name="Spread">(slowest − fastest) / median of the last rounds.</param>
/// <param name="Stable">Whether the last rounds agreed within <see cref="StableTiming.Tolerance"/>.</param>
internal sealed record TimedSteps(double SecondsPerStep, int Steps, double Spread, bool Stable);

/// <summary>
/// Times a step in rounds of the requested count, repeating rounds until at least <see cref="MinimumRounds"/> of them,
/// taking <see cref="MinimumSeconds"/> together, agree within <see cref="Tolerance"/>, or the time cap is reached. A
/// single short round on a busy machine gave impossible figures (batch-2 decode below batch-1); this keeps measuring
/// until the figure means something, and says when it could not.
/// </summary>
internal static class StableTiming
{
    public const int MinimumRounds = 3;
    public const double MinimumSeconds = 0.5;
    public const double Tolerance = 0.10;
    public const double CapSeconds = 15;

    /// <param name="stepsPerRound">Steps per round (the requested --steps).</param>
    /// <param name="beforeRound">Runs untimed before each round (rewinds the cache, for instance).</param>
    /// <param name="step">One step.</param>
    /// <param name="synchronize">Waits for the device, so a round's time covers its work.</param>
    public static TimedSteps Measure(int stepsPerRound, Action beforeRound, Action step, Action synchronize)
    {
        var rounds = new List<double>();
        var total = Stopwatch.StartNew();
        while (true)
        {
            beforeRound();
            synchronize();
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < stepsPerRound; i++)
                step();
            synchronize();
            rounds.Add(clock.Elapsed.TotalSeconds / stepsPerRound);

            var last = rounds.TakeLast(MinimumRounds).Order().ToArray();
            double median = last[last.Length / 2];
            double spread = (last[^1] - last[0]) / median;
            bool enough = rounds.Count >= MinimumRounds && rounds.Sum() * stepsPerRound >= MinimumSeconds;
            if ((enough && spread <= Tolerance) || total.Elapsed.TotalSeconds >= CapSeconds)
                return new TimedSteps(median, rounds.Count * stepsPerRound, spread, enough && spread <= Tolerance);
        }
    }
}
