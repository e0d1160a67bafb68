import { Duration } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { DailyJobConstruct, type TenantsJobProps } from "./daily-job.js";

/**
 * The daily benchmark job (functions/reports/publish-benchmark.ts): at 01:30 London time it
 * publishes the last complete quarter and the quarter so far from the deployment's opted-in
 * tenants, as aggregates only. It reads the table (each tenant's challenges by month raised) and
 * writes the one published item per quarter.
 */
export class Benchmark extends DailyJobConstruct {
  constructor(scope: Construct, id: string, props: TenantsJobProps) {
    super(scope, id, {
      functions: props.functions,
      observability: props.observability,
      what: "benchmark job",
      functionId: "PublishBenchmark",
      entry: "functions/reports/publish-benchmark.ts",
      description: "Daily: publishes the anonymised benchmark across the opted-in authorities",
      at: { hour: 1, minute: 30 },
      environment: { BENCHMARK_TENANT_IDS: props.tenantIds.join(",") },
      memorySize: 1024,
      timeout: Duration.minutes(15),
    });

    props.store.grantRead(this.job);
    // The one write: the quarter's published item (aggregates only) in the base table.
    this.job.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["dynamodb:PutItem"], resources: [props.store.table.tableArn] }),
    );
    props.store.key.grant(this.job.fn, "kms:Encrypt", "kms:GenerateDataKey");
  }
}
