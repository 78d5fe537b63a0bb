using System.Text.Json;

namespace Grid.Edge.Testing;

internal static class Json
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
