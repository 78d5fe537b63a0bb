using System.Reflection;

[assembly: AssemblyTitle("Grid.Edge weather station firmware")]
[assembly: AssemblyProduct("Grid.Edge")]
[assembly: AssemblyVersion("1.0.0.0")]
