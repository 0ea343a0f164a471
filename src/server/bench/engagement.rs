//! `concierge bench engagement`: generates an organisation of `people` with `events` activity
//! events (bulk inserts, outside the measured time; roll-ups made by the same code that ingest
//! uses; 60 % consent to marketing, 30 % book at a regular interval, people in eight time
//! zones), then times whole engagement runs end to end — recompute, select, decide, queue —
//! with the time of each phase and the process's peak RSS:
//! 1. the first run ever (every segment computed for the first time, every dormant or due
//!    person decided about);
//! 2. a second run at once (the same interval: nothing new to decide);
//! 3. the next hour's run (what the worker does every hour: recompute, and decide about the
//!    people who crossed a threshold since).
//!
//! The run's clock is fixed by the benchmark (so the hour moves without waiting for it).

use super::orgdata::ZONES;
use super::{rss_mb, setup};
use crate::domain::engagement::score::{EventFacts, Rollup};
use crate::domain::engagement::RunTrigger;
use crate::on_db;
use crate::server::db::Db;
use crate::server::TestClock;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

const SERVICES: &[&str] = &["Massage", "Facial", "Manicure", "Haircut", "Yoga class"];
/// People written per transaction while generating.
const GENERATE: usize = 5_000;

struct Generated {
    person: (
        Uuid,
        String,
        String,
        bool,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    ),
    events: Vec<(Uuid, &'static str, serde_json::Value, DateTime<Utc>)>,
    rollup: Rollup,
}

/// One person with a plausible history: joined within two years, last seen a few days to a
/// few months ago (most recently), a handful of events before that; some book regularly.
fn person(
    rng: &mut rand::rngs::StdRng,
    org: Uuid,
    n: usize,
    events: usize,
    now: DateTime<Utc>,
) -> Generated {
    let id = Uuid::now_v7();
    let zone = ZONES[n % ZONES.len()];
    let joined = now - Duration::days(30 + rng.gen_range(0..700));
    // Days since last seen: most use the app every few days, some are lapsing, a few have
    // all but gone (about a third end up dormant, a few per cent churned).
    let mean = match rng.gen_range(0..10) {
        0..=5 => 3.0,
        6..=8 => 20.0,
        _ => 150.0,
    };
    let idle = (-(1.0 - rng.gen::<f64>()).ln() * mean) as i64;
    let last = (now - Duration::days(idle) - Duration::minutes(rng.gen_range(0..1440))).max(joined);
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    let booker = rng.gen_bool(0.3);
    let cadence = rng.gen_range(14..42);
    let service = SERVICES[n % SERVICES.len()];
    let mut rollup = Rollup::new(org, id, joined);
    let mut out = Vec::with_capacity(events);
    for k in 0..events {
        let (name, at, props) = if booker && (1..5).contains(&k) {
            // A few bookings at the person's cadence, the latest some time ago.
            let at = last - Duration::days(cadence * (k as i64 - 1) + rng.gen_range(0..3));
            ("booking", at, serde_json::json!({ "service": service }))
        } else {
            // The most recent event is the last time they were seen; the others before it.
            let back = if k == 0 {
                0
            } else {
                rng.gen_range(0..180 * 24)
            };
            let name = ["login", "viewed_menu", "opened_app"][k % 3];
            (name, last - Duration::hours(back), serde_json::json!({}))
        };
        let at = at.max(joined);
        rollup.absorb(&EventFacts {
            name,
            properties: &props,
            at,
            tz,
        });
        out.push((Uuid::now_v7(), name, props, at));
    }
    let last_active = rollup
        .last_active_s
        .and_then(|s| DateTime::from_timestamp(s, 0));
    Generated {
        person: (
            id,
            format!("Person {n:07}"),
            zone.to_string(),
            rng.gen_bool(0.6),
            joined,
            last_active,
        ),
        events: out,
        rollup,
    }
}

async fn write(db: &Db, org: Uuid, batch: &[Generated], now: DateTime<Utc>) -> anyhow::Result<()> {
    const PERSON_ROWS: usize = 500;
    const EVENT_ROWS: usize = 1_000;
    const ROLLUP_ROWS: usize = 500;
    let cells = |rows: usize, cols: usize| crate::server::db::value_rows(db, 1, rows, cols, None);
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for chunk in batch.chunks(PERSON_ROWS) {
            let sql = format!(
                "INSERT INTO persons (id, org_id, full_name, person_type, email, timezone, tags, search_text, \
                 sort_name, marketing_consent, consent_at, consent_source, last_active_at, created_at, updated_at) VALUES {}",
                cells(chunk.len(), 15)
            );
            let mut q = sqlx::query(&sql);
            for g in chunk {
                let (id, name, zone, consent, joined, last) = &g.person;
                let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
                q = q.bind(*id).bind(org).bind(name).bind("client").bind(email.clone()).bind(zone)
                    .bind(sqlx::types::Json(Vec::<String>::new()))
                    .bind(format!("{} {email}", name.to_lowercase())).bind(name.to_lowercase())
                    .bind(*consent).bind(consent.then_some(*joined)).bind(consent.then_some("import"))
                    .bind(*last).bind(*joined).bind(*joined);
            }
            q.execute(&mut *tx).await?;
        }
        let events: Vec<(Uuid, Uuid, &str, &serde_json::Value, DateTime<Utc>)> = batch
            .iter()
            .flat_map(|g| g.events.iter().map(move |(id, name, props, at)| (*id, g.person.0, *name, props, *at)))
            .collect();
        for chunk in events.chunks(EVENT_ROWS) {
            let sql = format!(
                "INSERT INTO activity_events (id, org_id, person_id, name, properties, occurred_at, created_at) VALUES {}",
                cells(chunk.len(), 7)
            );
            let mut q = sqlx::query(&sql);
            for (id, person, name, props, at) in chunk {
                q = q.bind(*id).bind(org).bind(*person).bind(*name).bind(sqlx::types::Json(*props))
                    .bind(*at).bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        for chunk in batch.chunks(ROLLUP_ROWS) {
            let sql = format!(
                "INSERT INTO person_engagement (person_id, org_id, joined_s, last_active_s, events, window_no, \
                 recent, previous, night_recent, night_previous, bookings, first_booking_s, last_booking_s, \
                 last_service, rebook_due_s) VALUES {}",
                cells(chunk.len(), 15)
            );
            let mut q = sqlx::query(&sql);
            for g in chunk {
                let r = &g.rollup;
                q = q.bind(r.person_id).bind(org).bind(r.joined_s).bind(r.last_active_s).bind(r.events)
                    .bind(r.window_no).bind(r.recent).bind(r.previous).bind(r.night_recent)
                    .bind(r.night_previous).bind(r.bookings).bind(r.first_booking_s)
                    .bind(r.last_booking_s).bind(&r.last_service).bind(r.rebook_due_s);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<(), sqlx::Error>(())
    })?;
    Ok(())
}

/// Generates the organisation, then times the runs.
pub async fn run(people: usize, events: usize, database_url: Option<String>) -> anyhow::Result<()> {
    let (mut state, _dir) = setup(database_url).await?;
    let now = Utc::now()
        .date_naive()
        .and_hms_opt(14, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(Utc::now);
    let clock = TestClock::new(now);
    state.clock = Arc::new(clock.clone());
    let (org, _) = crate::server::services::auth::create_admin(
        &state,
        "bench",
        "bench@bench.test",
        "benchmark password 1",
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "engagement: generating {people} people and {events} events ({} database)…",
        state.db.backend()
    );
    let generating = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let per = events / people.max(1);
    let extra = events % people.max(1);
    let mut batch = Vec::with_capacity(GENERATE);
    for n in 0..people {
        let k = per + usize::from(n < extra);
        batch.push(person(&mut rng, org.id, n, k, now));
        if batch.len() == GENERATE {
            write(&state.db, org.id, &batch, now).await?;
            batch.clear();
        }
    }
    write(&state.db, org.id, &batch, now).await?;
    drop(batch);
    println!(
        "engagement: generated in {:.1} s (not measured)",
        generating.elapsed().as_secs_f64()
    );

    for (label, advance) in [
        ("first run", Duration::zero()),
        ("again at once", Duration::zero()),
        ("an hour later", Duration::hours(1)),
    ] {
        clock.advance(advance);
        if let Db::Postgres(pool) = &state.db {
            // Between runs an hour apart PostgreSQL's autovacuum (on by default) has cleared
            // the row versions the last run left and refreshed the statistics; do here what it
            // would have done, so that a server running with it off (as on the machines these
            // numbers come from) measures the same thing. Not timed.
            sqlx::query("VACUUM ANALYZE").execute(pool).await?;
        }
        let started = Instant::now();
        let report =
            crate::server::services::engagement::run(&state, org.id, RunTrigger::Api, None, false)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .ok_or_else(|| anyhow::anyhow!("the run did not start"))?;
        let secs = started.elapsed().as_secs_f64();
        let s = &report.run.summary;
        let phases: Vec<String> = ["recompute", "select", "decide", "queue"]
            .iter()
            .map(|p| format!("{p} {} ms", s.phases_ms.get(*p).copied().unwrap_or(0)))
            .collect();
        println!(
            "engagement: {label}: {secs:.2} s end to end ({}); evaluated {}, dormant {}, due to rebook {}, \
             decided {} (queued {}, held {}, skipped {}), decided earlier {}; peak RSS {:.0} MB",
            phases.join(", "),
            s.evaluated,
            s.dormant,
            s.due_to_rebook,
            s.candidates,
            s.queued,
            s.held,
            s.skipped_total(),
            s.already_decided,
            rss_mb().unwrap_or(0.0)
        );
    }
    state.db.close().await;
    Ok(())
}
