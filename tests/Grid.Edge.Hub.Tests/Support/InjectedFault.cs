using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// No namespace: the runtime runs StartupHook.Initialize of each assembly named in DOTNET_STARTUP_HOOKS before Main.
// A test starts the hub as a child process with this assembly as its hook, to put a failing service into the real
// program and see how the process ends.
#pragma warning disable CA1050 // the runtime looks for this type in the global namespace
public static class StartupHook
#pragma warning restore CA1050
{
    public const string Environment = "DOTNET_STARTUP_HOOKS";

    public static void Initialize() => DiagnosticListener.AllListeners.Subscribe(new Grid.Edge.Hub.Tests.Support.HostBuildingObserver());
}

namespace Grid.Edge.Hub.Tests.Support
{
    /// <summary>Adds <see cref="InjectedFault"/> to the hub's services as its host is built ("HostBuilding" event).</summary>
    internal sealed class HostBuildingObserver : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
    {
        public void OnNext(DiagnosticListener value)
        {
            if (value.Name == "Microsoft.Extensions.Hosting")
                value.Subscribe(this);
        }

        public void OnNext(KeyValuePair<string, object?> value)
        {
            // A HostApplicationBuilder (WebApplication's) announces itself as an IHostBuilder adapter.
            if (value.Key == "HostBuilding" && value.Value is IHostBuilder builder)
                builder.ConfigureServices(services => services.AddHostedService<InjectedFault>());
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }

    /// <summary>A service with a bug: it fails (not with a transient disk error) once the hub has started.</summary>
    internal sealed class InjectedFault(IHostApplicationLifetime lifetime) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
                await started.Task.WaitAsync(stoppingToken);
            throw new InvalidOperationException("a fault injected by the test");
        }
    }
}
