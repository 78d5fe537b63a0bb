using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Grid.Edge.Benchmarks.Micro.HotPathBenchmarks).Assembly).Run(args);
