//! The two migration trees (`migrations/sqlite`, `migrations/postgres`) build the same schema:
//! the same tables, columns, nullability and indexes. Types are not compared (the two have
//! different ones for the same values); the differences that are meant are listed, with why.

use crate::common::{fresh_postgres, postgres_url};
use concierge::server::db::Db;
use std::collections::BTreeSet;

/// (table, column, not null)
type Column = (String, String, bool);
/// (table, index, unique, columns)
type Index = (String, String, bool, String);

async fn sqlite_schema(db: &Db) -> (BTreeSet<Column>, BTreeSet<Index>) {
    let Db::Sqlite(pool) = db else { unreachable!() };
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut columns = BTreeSet::new();
    let mut indexes = BTreeSet::new();
    for table in tables.into_iter().filter(|t| !sqlite_only_table(t)) {
        let rows: Vec<(String, bool, i64)> = sqlx::query_as(&format!(
            "SELECT name, \"notnull\", pk FROM pragma_table_info('{table}')"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        for (name, not_null, pk) in rows {
            // SQLite lets a primary key that is not an INTEGER be NULL; no row here has one.
            columns.insert((table.clone(), name, not_null || pk > 0));
        }
        // Indexes made by CREATE INDEX (those of constraints are named sqlite_autoindex_…).
        let list: Vec<(String, bool, String)> = sqlx::query_as(&format!(
            "SELECT name, \"unique\", origin FROM pragma_index_list('{table}')"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        for (index, unique, _) in list.into_iter().filter(|(_, _, origin)| origin == "c") {
            let cols: Vec<Option<String>> = sqlx::query_scalar(&format!(
                "SELECT name FROM pragma_index_info('{index}') ORDER BY seqno"
            ))
            .fetch_all(pool)
            .await
            .unwrap();
            let cols: Vec<String> = cols
                .into_iter()
                .map(|c| c.unwrap_or_else(|| "(expression)".into()))
                .collect();
            indexes.insert((table.clone(), index, unique, cols.join(",")));
        }
    }
    (columns, indexes)
}

async fn postgres_schema(db: &Db) -> (BTreeSet<Column>, BTreeSet<Index>) {
    let Db::Postgres(pool) = db else {
        unreachable!()
    };
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let columns = rows
        .into_iter()
        .map(|(t, c, nullable)| (t, c, nullable == "NO"))
        .collect();
    // Indexes made by CREATE INDEX (not those behind a primary key or a unique constraint),
    // with their columns in order; an expression is named as such.
    let rows: Vec<(String, String, bool, String)> = sqlx::query_as(
        "SELECT t.relname::text, i.relname::text, ix.indisunique, \
           array_to_string(ARRAY(SELECT COALESCE(a.attname::text, '(expression)') \
             FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord) \
             LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
             ORDER BY k.ord), ',') \
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND t.relname NOT LIKE '\\_sqlx%' \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    (columns, rows.into_iter().collect())
}

/// Indexes one backend has and the other has not, on purpose (each migration says why).
const ONLY_ONE: &[(&str, &str)] = &[
    // PostgreSQL searches people through a trigram index; SQLite has its FTS5 table.
    ("persons", "persons_search"),
    // PostgreSQL's planner needs them to plan well (postgres/0008); SQLite plans without.
    ("persons", "persons_tags"),
    ("reminder_rules", "reminder_rules_status_due"),
];

/// SQLite's full-text index of people (an FTS5 table and the tables it keeps its index in),
/// where PostgreSQL searches `persons.search_text` through a trigram index.
fn sqlite_only_table(table: &str) -> bool {
    table.starts_with("persons_search")
}

#[tokio::test]
async fn both_migration_trees_build_the_same_schema() {
    // Needs both databases; `.ci/run` sets TEST_POSTGRES_URL.
    if postgres_url().is_none() {
        eprintln!("TEST_POSTGRES_URL is not set: the two schemas cannot be compared");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::connect(&format!("sqlite://{}/schema.db", dir.path().display()))
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    let (url, (admin_url, name)) = fresh_postgres().await;
    let postgres = Db::connect(&url).await.unwrap();
    postgres.migrate().await.unwrap();

    let (lite_columns, lite_indexes) = sqlite_schema(&sqlite).await;
    let (pg_columns, pg_indexes) = postgres_schema(&postgres).await;
    postgres.close().await;
    sqlite.close().await;
    if let Ok(pool) = sqlx::PgPool::connect(&admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&pool)
            .await;
    }

    let tables = |c: &BTreeSet<Column>| -> BTreeSet<String> {
        c.iter().map(|(t, _, _)| t.clone()).collect()
    };
    assert_eq!(
        tables(&lite_columns),
        tables(&pg_columns),
        "the same tables"
    );
    let only_sqlite: Vec<_> = lite_columns.difference(&pg_columns).collect();
    let only_pg: Vec<_> = pg_columns.difference(&lite_columns).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "columns or their nullability differ:\n  only in SQLite: {only_sqlite:?}\n  only in PostgreSQL: {only_pg:?}"
    );
    let meant = |i: &&Index| !ONLY_ONE.contains(&(i.0.as_str(), i.1.as_str()));
    let only_sqlite: Vec<_> = lite_indexes.difference(&pg_indexes).filter(meant).collect();
    let only_pg: Vec<_> = pg_indexes.difference(&lite_indexes).filter(meant).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "indexes differ:\n  only in SQLite: {only_sqlite:?}\n  only in PostgreSQL: {only_pg:?}"
    );
}
