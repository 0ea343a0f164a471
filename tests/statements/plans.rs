//! What the query planner does with a statement, on either database, and whether that reads a
//! large table from end to end.

use concierge::server::db::Db;
use sqlx::Row;

/// The tables that grow with the organisation. The others (organisations, staff, categories,
/// settings, policies, channels) hold a handful of rows each.
const LARGE: &[&str] = &[
    "persons",
    "audit_log",
    "comm_identities",
    "date_items",
    "reminder_rules",
    "projects",
    "tasks",
    "conversations",
    "messages",
    "recommendations",
    "activity_events",
    "deliveries",
    "delivery_events",
    "notifications",
    "person_engagement",
    "sessions",
];

/// Fresh statistics, as housekeeping keeps them (PostgreSQL also clears the bulk load's row
/// versions, as autovacuum would).
pub async fn analyze(db: &Db) {
    let sql = match db {
        Db::Postgres(_) => "VACUUM ANALYZE",
        Db::Sqlite(_) => "ANALYZE",
    };
    concierge::on_db!(db, pool => sqlx::query(sql).execute(pool).await.map(|_| ())).unwrap();
}

/// The plan's lines: SQLite's `EXPLAIN QUERY PLAN` details, or PostgreSQL's `EXPLAIN` of the
/// generic plan (the one a prepared statement settles on, whatever its parameters).
pub async fn plan(db: &Db, sql: &str) -> Vec<String> {
    match db {
        Db::Sqlite(pool) => {
            // Parameters left unbound are NULL to SQLite; the plan does not depend on them.
            let text = format!("EXPLAIN QUERY PLAN {sql}");
            sqlx::query(&text)
                .fetch_all(pool)
                .await
                .unwrap_or_else(|e| panic!("EXPLAIN QUERY PLAN failed: {e}\n{sql}"))
                .iter()
                .map(|row| row.get::<String, _>("detail"))
                .collect()
        }
        Db::Postgres(pool) => {
            let params = (1..=99)
                .take_while(|n| sql.contains(&format!("${n}")))
                .count();
            let nulls = vec!["NULL"; params].join(", ");
            let mut conn = pool.acquire().await.unwrap();
            let prepare =
                format!("SET plan_cache_mode = force_generic_plan; PREPARE planned AS {sql}");
            sqlx::raw_sql(&prepare)
                .execute(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("PREPARE failed: {e}\n{sql}"));
            let explain = if params == 0 {
                "EXPLAIN EXECUTE planned".to_string()
            } else {
                format!("EXPLAIN EXECUTE planned({nulls})")
            };
            let lines = sqlx::query(&explain)
                .fetch_all(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("EXPLAIN failed: {e}\n{sql}"))
                .iter()
                .map(|row| row.get::<String, _>(0))
                .collect();
            sqlx::raw_sql("DEALLOCATE planned; RESET plan_cache_mode")
                .execute(&mut *conn)
                .await
                .unwrap();
            lines
        }
    }
}

/// Whole reads that are the point of the statement: (page, table, why).
const ALLOWED: &[(&str, &str, &str)] = &[(
    "conversations",
    "conversations",
    "the exact count of open conversations, about half the table: PostgreSQL reads the table \
     or its index, whichever is cheaper",
)];

/// Of the tables that grow, those that hold thousands of rows in this database: a full read of
/// a table of a few rows is the planner's right choice, not a missing index.
pub async fn large_tables(db: &Db) -> Vec<&'static str> {
    let mut out = Vec::new();
    for table in LARGE {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 =
            concierge::on_db!(db, pool => sqlx::query_scalar(&sql).fetch_one(pool).await).unwrap();
        if n >= 1_000 {
            out.push(*table);
        }
    }
    out
}

/// The first step of the plan that reads one of the `large` tables without an index, if any.
pub fn full_scan(page: &str, plan: &[String], large: &[&str]) -> Option<String> {
    plan.iter().find_map(|line| {
        let line = line.trim().trim_start_matches("->").trim();
        let table = if let Some(rest) = line.strip_prefix("SCAN ") {
            // SQLite: `SCAN t`, `SCAN t USING [COVERING] INDEX i`, `SCAN t VIRTUAL TABLE …`.
            (!rest.contains(" USING ") && !rest.contains("VIRTUAL TABLE"))
                .then(|| rest.split_whitespace().next().unwrap_or_default())
        } else {
            // PostgreSQL: `Seq Scan on t alias  (cost=…)`.
            line.find("Seq Scan on ").map(|at| {
                line[at + 12..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
            })
        }?;
        // A page and its later pages alike ("conversations", "conversations page 3").
        let allowed = ALLOWED
            .iter()
            .any(|(p, t, _)| page.starts_with(p) && *t == table);
        (large.contains(&table) && !allowed).then(|| format!("reads all of {table}"))
    })
}
