using Grid.Edge.Hub.Testing;
using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests;

/// <summary>One in-process hub shared by a test class; each test uses its own device ids.</summary>
public sealed class HubFixture : IAsyncLifetime
{
    internal InProcessHub Hub { get; private set; } = null!;

    public async Task InitializeAsync() => Hub = await InProcessHub.StartAsync();

    public async Task DisposeAsync()
    {
        await Hub.DisposeAsync();

        // As MQTTnet's own broker tests do: a run that logged an error failed, whatever the assertions said.
        var errors = Hub.Logs.Errors.ToList();
        if (errors.Count > 0)
            throw new InvalidOperationException("The hub logged errors:\n" + string.Join("\n", errors));
    }
}
