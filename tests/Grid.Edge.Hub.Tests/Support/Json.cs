using System.Text.Json;

namespace Grid.Edge.Hub.Tests.Support;

internal static class Json
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
