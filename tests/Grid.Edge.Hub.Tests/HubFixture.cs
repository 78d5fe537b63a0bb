using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests;

/// <summary>One in-process hub shared by a test class; each test uses its own device ids.</summary>
public sealed class HubFixture : IAsyncLifetime
{
    internal InProcessHub Hub { get; private set; } = null!;

    public async Task InitializeAsync() => Hub = await InProcessHub.StartAsync();

    public async Task DisposeAsync() => await Hub.DisposeAsync();
}
