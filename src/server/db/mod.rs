//! The database handle: SQLite (the embedded default) or PostgreSQL, picked at run time from
//! `DATABASE_URL`. Repositories write one SQL string with `$1, $2 …` placeholders and run it on
//! either pool through [`on_db!`]; backend-specific SQL is kept to where semantics differ.

pub mod activity;
pub mod api_keys;
pub mod approvals;
pub mod audit;
pub mod campaigns;
pub mod channels;
pub mod comms;
pub mod dates;
pub mod deliveries;
pub mod engagement;
pub mod generation;
pub mod idempotency;
pub mod leases;
pub mod orgs;
pub mod persons;
pub mod privacy;
pub mod projects;
pub mod rate_limits;
pub mod secrets;
pub mod sessions;
pub mod staff;
pub mod throttle;
pub mod vendors;
pub mod webhooks;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same expression on whichever pool `$db` holds: `on_db!(db, pool => query.fetch_all(pool).await)`.
/// The body is compiled once per backend, so each arm is type-checked against its own driver.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite($pool) => $body,
            $crate::server::db::Db::Postgres($pool) => $body,
        }
    };
}

/// A unit of work: one transaction on whichever backend the [`Db`] holds. A service begins it
/// ([`Db::begin`]), passes it to each repository function that writes part of one operation,
/// and commits once, so the operation lands whole or not at all (dropped uncommitted, it rolls
/// back).
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs the same expression on the connection of whichever transaction `$tx` (a `&mut Tx`)
/// holds: `on_tx!(tx, conn => query.execute(&mut *conn).await)`.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::server::db::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::server::db::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    /// Marks where a part of this unit of work begins (a savepoint), so that a part that
    /// fails can be undone on its own ([`Tx::undo_part`]) and the rest stand: one row of an
    /// import that is refused leaves the others, and on PostgreSQL a failed statement then
    /// does not spoil the whole transaction. Each part ends with [`Tx::keep_part`] or
    /// [`Tx::undo_part`].
    pub async fn begin_part(&mut self) -> Result<(), sqlx::Error> {
        self.execute("SAVEPOINT part").await
    }

    /// Keeps what the part begun last wrote.
    pub async fn keep_part(&mut self) -> Result<(), sqlx::Error> {
        self.execute("RELEASE SAVEPOINT part").await
    }

    /// Undoes what the part begun last wrote; the unit of work goes on.
    pub async fn undo_part(&mut self) -> Result<(), sqlx::Error> {
        self.execute("ROLLBACK TO SAVEPOINT part").await?;
        self.execute("RELEASE SAVEPOINT part").await
    }

    async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        on_tx!(self, conn => sqlx::query(sql).execute(&mut *conn).await.map(|_| ()))
    }
}

/// Where a statement runs: on the pool, committed on its own, or inside a unit of work. A
/// repository function that is part of a larger operation takes `impl Into<Conn>`, so a
/// service passes `&state.db` or `&mut tx` alike.
pub enum Conn<'a> {
    Pool(&'a Db),
    Tx(&'a mut Tx),
}

impl Conn<'_> {
    /// The same connection for one more statement, keeping this one for the next.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Pool(db) => Conn::Pool(db),
            Conn::Tx(tx) => Conn::Tx(tx),
        }
    }
}

impl<'a> From<&'a Db> for Conn<'a> {
    fn from(db: &'a Db) -> Self {
        Conn::Pool(db)
    }
}

impl<'a> From<&'a mut Tx> for Conn<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        Conn::Tx(tx)
    }
}

/// Runs the same expression on whichever pool or transaction `$conn` (a [`Conn`]) holds; the
/// expression uses `$c` once, as a sqlx executor.
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::server::db::Conn::Pool(db) => $crate::on_db!(db, $c => $body),
            $crate::server::db::Conn::Tx(tx) => $crate::on_tx!(tx, $c => $body),
        }
    };
}

/// Which SQL dialect a statement is written for: the helpers that spell placeholders take a
/// [`Db`] or a [`Tx`] alike.
pub trait Dialect {
    fn is_postgres(&self) -> bool;
}

impl Dialect for Db {
    fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }
}

impl Dialect for Tx {
    fn is_postgres(&self) -> bool {
        matches!(self, Tx::Postgres(_))
    }
}

impl Dialect for Conn<'_> {
    fn is_postgres(&self) -> bool {
        match self {
            Conn::Pool(db) => db.is_postgres(),
            Conn::Tx(tx) => tx.is_postgres(),
        }
    }
}

/// The ids of the organisation's (`$1`) deleted people, as a subquery for `person_id NOT IN …`:
/// they are few, read once per statement from `persons_deleted` and checked in memory, where a
/// join or a `NOT EXISTS` per row would look up every person before a deep page (19 s for page
/// 1,000 of Reminders) and "of a live person" made PostgreSQL hash every live one. A macro, so
/// that it can be `concat!`ed into constant statements.
macro_rules! deleted_person_ids {
    () => {
        "(SELECT p.id FROM persons p WHERE p.org_id = $1 AND p.deleted_at IS NOT NULL)"
    };
}
pub(crate) use deleted_person_ids;

/// The tables a month of the calendar is read from.
const CALENDAR_TABLES: &[&str] = &["date_items", "reminder_rules", "persons", "date_categories"];

/// How many rows of the calendar's tables the SQLite connections of this process have written
/// (counted by SQLite's update hook on each connection, whatever statement or transaction did
/// it, rolled back or not): a month of the calendar read while this stood still is still true.
static CALENDAR_WRITES: AtomicU64 = AtomicU64::new(0);

/// See [`CALENDAR_WRITES`].
pub fn calendar_writes() -> u64 {
    CALENDAR_WRITES.load(Ordering::Relaxed)
}

impl Db {
    /// Opens the database named by `url`, creating a SQLite file (and its folder) on first use.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .context("DATABASE_URL is not a valid PostgreSQL URL")?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                // Short, so that while the database is away a request answers 503 in seconds.
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await
                .context("could not connect to PostgreSQL")?;
            Ok(Self::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .context("DATABASE_URL is not a valid SQLite URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let path = options.get_filename().to_path_buf();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("could not create the folder {}", dir.display()))?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.lock_handle().await?.set_update_hook(|change| {
                            if CALENDAR_TABLES.contains(&change.table) {
                                CALENDAR_WRITES.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                        Ok(())
                    })
                })
                .connect_with(options)
                .await
                .with_context(|| format!("could not open SQLite database {}", path.display()))?;
            Ok(Self::Sqlite(pool))
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://, not '{url}'")
        }
    }

    /// Applies the migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool) => {
                // On one connection, closed afterwards rather than kept: a migration that edits
                // a table's definition in sqlite_schema (0013) leaves the connection that ran
                // it holding the old one, while every other connection reads the new one.
                let mut conn = pool.acquire().await?;
                let ran = sqlx::migrate!("migrations/sqlite").run(&mut *conn).await;
                conn.close().await?;
                ran
            }
            Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await,
        }
        .context("could not apply database migrations")?;
        engagement::backfill_once(self)
            .await
            .context("could not build the activity roll-ups")
    }

    /// Begins a unit of work (see [`Tx`]). Every unit of work writes: on SQLite it takes the
    /// write lock as it begins (`BEGIN IMMEDIATE`, waiting its turn as long as the busy
    /// timeout allows), so that one that reads before it writes cannot find, at its first
    /// write, that another connection wrote since (SQLite then refuses at once, busy timeout
    /// or not).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    /// Refreshes the planner's statistics of `tables` after a bulk write (PostgreSQL: `ANALYZE`;
    /// SQLite plans without them). Autovacuum does it too, but only a minute or so later, and
    /// not at all where it is switched off: until then PostgreSQL plans for the table as it was
    /// (an empty outbox, say) and can pick an index that reads every row the write just added.
    pub async fn refresh_statistics(&self, tables: &[&str]) -> Result<(), sqlx::Error> {
        match self {
            Db::Postgres(pool) => sqlx::query(&format!("ANALYZE {}", tables.join(", ")))
                .execute(pool)
                .await
                .map(|_| ()),
            Db::Sqlite(_) => Ok(()),
        }
    }

    /// Keeps the query planner's statistics fresh, for housekeeping: on SQLite `PRAGMA
    /// optimize` over every table (it analyses those whose statistics are missing or have
    /// drifted, and is quick when none have); on PostgreSQL `ANALYZE` (sampled; what
    /// autovacuum does where it is on).
    pub async fn optimize(&self) -> Result<(), sqlx::Error> {
        match self {
            Db::Postgres(pool) => sqlx::query("ANALYZE").execute(pool).await.map(|_| ()),
            Db::Sqlite(pool) => sqlx::query("PRAGMA optimize=0x10002")
                .execute(pool)
                .await
                .map(|_| ()),
        }
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }

    /// Writes a consistent copy of a SQLite database to `path` while the server goes on
    /// reading and writing (`VACUUM INTO` reads one snapshot), then checks the copy
    /// (`PRAGMA integrity_check`). Never overwrites a file. PostgreSQL is backed up with its
    /// own tools (`pg_dump`; see the README). The copy's size in bytes.
    pub async fn backup(&self, path: &std::path::Path) -> anyhow::Result<u64> {
        let Db::Sqlite(pool) = self else {
            anyhow::bail!(
                "a PostgreSQL database is backed up with pg_dump (and restored with pg_restore); see the README"
            );
        };
        if path.exists() {
            anyhow::bail!("{} exists already; name a new file", path.display());
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("could not create the folder {}", dir.display()))?;
        }
        let target = path
            .to_str()
            .context("the backup's path must be valid UTF-8")?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await
            .with_context(|| format!("could not write the backup to {}", path.display()))?;
        let copy = SqliteConnectOptions::new().filename(path).read_only(true);
        let check = async {
            let mut conn = sqlx::ConnectOptions::connect(&copy).await?;
            let verdict: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_all(&mut conn)
                .await?;
            sqlx::Connection::close(conn).await?;
            Ok::<_, sqlx::Error>(verdict)
        };
        let verdict = check
            .await
            .with_context(|| format!("could not open the backup {} to check it", path.display()))?;
        if verdict != ["ok"] {
            anyhow::bail!(
                "the backup {} failed its integrity check: {}",
                path.display(),
                verdict.join("; ")
            );
        }
        Ok(std::fs::metadata(path)?.len())
    }
}

/// Whether the organisation has a row with this id in `table` (one of the application's
/// tables, named by the code, never by a request).
pub async fn owns(
    db: &Db,
    table: &'static str,
    org_id: uuid::Uuid,
    id: uuid::Uuid,
) -> Result<bool, sqlx::Error> {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE org_id = $1 AND id = $2");
    on_db!(db, pool => sqlx::query_scalar::<_, i64>(&sql).bind(org_id).bind(id).fetch_one(pool).await)
        .map(|n| n > 0)
}

/// Whether `err` is a unique-constraint violation that involves `column`.
pub fn is_unique_violation(err: &sqlx::Error, column: &str) -> bool {
    match err {
        sqlx::Error::Database(e) if e.is_unique_violation() => {
            e.constraint().is_some_and(|c| c.contains(column)) || e.message().contains(column)
        }
        _ => false,
    }
}

/// The placeholder of the `n`th parameter: `$n` on PostgreSQL, a plain `?` on SQLite.
///
/// sqlx binds a numbered placeholder by asking SQLite for its name, and SQLite finds a name by
/// walking a list: a statement with thousands of `$n` placeholders binds in time quadratic in
/// their number (a 500-row insert spent a second there). Statements with many parameters are
/// written with this instead, and then use it for every parameter, in the order they are bound.
pub(crate) fn ph(db: &impl Dialect, n: usize) -> String {
    if db.is_postgres() {
        format!("${n}")
    } else {
        "?".to_string()
    }
}

/// `column`, kept from steering SQLite's choice of index. A statement that looks rows up by a
/// list of ids also checks their organisation; without statistics SQLite takes the
/// organisation's index for the narrower path and scans every row of it. SQLite's unary `+`
/// (a no-op on the value) leaves the primary key to do the finding.
pub(crate) fn unindexed(db: &Db, column: &str) -> String {
    match db {
        Db::Sqlite(_) => format!("+{column}"),
        Db::Postgres(_) => column.to_string(),
    }
}

/// The rows `template` reads for a list of ids, in chunks of 500 (a statement has a bounded
/// number of parameters). In `template`, `{org}` stands for "`org_column` is the
/// organisation" (written with [`unindexed`], so that the ids choose the index) and `{ids}` for
/// the ids' placeholders.
pub(crate) async fn by_ids<T>(
    db: &Db,
    template: &str,
    org_column: &str,
    org_id: uuid::Uuid,
    ids: &[uuid::Uuid],
) -> Result<Vec<T>, sqlx::Error>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let org = format!("{} = {}", unindexed(db, org_column), ph(db, 1));
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = template
            .replace("{org}", &org)
            .replace("{ids}", &phs(db, 2, chunk.len()));
        let rows = on_db!(db, pool => {
            let mut q = sqlx::query_as::<_, T>(&sql).bind(org_id);
            for id in chunk {
                q = q.bind(id);
            }
            q.fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// Appends to `clause` each condition that is on, its `$N` numbered from `first` in order;
/// returns the number of the next parameter. Filters are written into a statement only when
/// given, so that the index for them is the one used.
pub(crate) fn push_conditions(
    clause: &mut String,
    conditions: &[(bool, &str)],
    first: usize,
) -> usize {
    let mut n = first;
    for (_, condition) in conditions.iter().filter(|(on, _)| *on) {
        clause.push_str(" AND ");
        clause.push_str(&condition.replace("$N", &format!("${n}")));
        n += 1;
    }
    n
}

/// `count` placeholders from the `first`, comma-separated (see [`ph`]).
pub(crate) fn phs(db: &impl Dialect, first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| ph(db, n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The placeholder of the `n`th parameter cast to `ty` where PostgreSQL needs it (values in a
/// VALUES list have no column to take their type from); SQLite takes the value as it is bound.
pub(crate) fn typed(db: &impl Dialect, n: usize, ty: &str) -> String {
    if db.is_postgres() {
        format!("CAST(${n} AS {ty})")
    } else {
        "?".to_string()
    }
}

/// `rows` rows of `cols` placeholders for a multi-row VALUES list, numbered from `first`:
/// `($1, $2), ($3, $4)` (or `(?, ?), (?, ?)`). `types` casts the columns that need it on
/// PostgreSQL (an empty string: none).
pub(crate) fn value_rows(
    db: &impl Dialect,
    first: usize,
    rows: usize,
    cols: usize,
    types: Option<&[&str]>,
) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (0..cols)
                .map(|c| {
                    let n = first + r * cols + c;
                    match types.and_then(|t| t.get(c)).filter(|t| !t.is_empty()) {
                        Some(ty) => typed(db, n, ty),
                        None => ph(db, n),
                    }
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
