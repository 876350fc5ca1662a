/** The tables spansift keeps, qualified by the configured database. */
export function tableNames(database: string) {
  return {
    migrations: `${database}.schema_migrations`,
    spans: `${database}.spans`,
    applications: `${database}.applications`,
    apiKeys: `${database}.api_keys`,
    apiKeyUsage: `${database}.api_key_usage`,
    datasets: `${database}.datasets`,
    datasetVersions: `${database}.dataset_versions`,
    datasetItems: `${database}.dataset_items`,
    ruleBackfills: `${database}.rule_backfills`,
    spanContentEvents: `${database}.span_content_events`,
    reviewClaims: `${database}.review_claims`,
  } as const
}
export type TableNames = ReturnType<typeof tableNames>

/** A database name is spliced into DDL as an identifier, so it must be a plain one. */
export const DATABASE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

/** A cluster name (SPANSIFT_CLICKHOUSE_CLUSTER) is spliced into DDL too: the same plain identifier. */
export const CLUSTER_NAME_PATTERN = DATABASE_NAME_PATTERN
