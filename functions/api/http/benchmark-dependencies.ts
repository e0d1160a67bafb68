import { BenchmarkStore } from "../../store/benchmark-store.js";
import { documentClient } from "../../shared/clients.js";
import { productionDependenciesWith } from "./dependencies.js";

/** The production wiring of the benchmark routes (participation, the comparison). */
export const benchmarkDependencies = productionDependenciesWith((tableName) => ({
  benchmark: new BenchmarkStore(documentClient, tableName),
}));
