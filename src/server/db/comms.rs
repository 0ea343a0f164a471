//! Communication identities, conversations and their messages.

use super::{Db, Tx};
use crate::domain::comms::{
    CommIdentity, Conversation, ConversationDraft, IdentityDraft, Message, MessageDraft,
};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};
use uuid::Uuid;

const IDENTITY_COLUMNS: &str = "id, org_id, person_id, channel, address, preferred, verified, \
    opted_out_at, hard_failures, disabled_at, disabled_reason, created_at, updated_at";

pub async fn identities_for(
    db: &Db,
    org_id: Uuid,
    person_id: Uuid,
) -> Result<Vec<CommIdentity>, sqlx::Error> {
    let sql = format!(
        "SELECT {IDENTITY_COLUMNS} FROM comm_identities WHERE org_id = $1 AND person_id = $2 \
         ORDER BY preferred DESC, channel, created_at"
    );
    on_db!(db, pool => sqlx::query_as::<_, CommIdentity>(&sql).bind(org_id).bind(person_id).fetch_all(pool).await)
}

/// The identities of many people at once (preferred first for each), for a batch.
pub async fn identities_of(
    db: &Db,
    org_id: Uuid,
    person_ids: &[Uuid],
) -> Result<Vec<CommIdentity>, sqlx::Error> {
    let sql = format!(
        "SELECT {IDENTITY_COLUMNS} FROM comm_identities WHERE {{org}} AND person_id IN ({{ids}}) \
         ORDER BY person_id, preferred DESC, channel, created_at"
    );
    super::by_ids(db, &sql, "org_id", org_id, person_ids).await
}

pub async fn get_identity(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<CommIdentity>, sqlx::Error> {
    let sql =
        format!("SELECT {IDENTITY_COLUMNS} FROM comm_identities WHERE org_id = $1 AND id = $2");
    on_db!(db, pool => sqlx::query_as::<_, CommIdentity>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

/// The identity with this channel and address for the person, other than `except`.
pub async fn find_identity(
    db: &Db,
    org_id: Uuid,
    person_id: Uuid,
    d: &IdentityDraft,
    except: Option<Uuid>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let sql =
        "SELECT id FROM comm_identities WHERE org_id = $5 AND person_id = $1 AND channel = $2 \
               AND LOWER(address) = LOWER($3) AND ($4 IS NULL OR id <> $4)";
    on_db!(db, pool => sqlx::query_scalar::<_, Uuid>(sql)
        .bind(person_id).bind(d.channel.as_str()).bind(&d.address).bind(except).bind(org_id)
        .fetch_optional(pool).await)
}

/// Writes an identity; a preferred one takes the preference from the person's others, in the
/// same transaction. `opted_out_at` keeps its first moment while the identity stays opted out.
#[allow(clippy::too_many_arguments)]
pub async fn save_identity(
    db: &Db,
    org_id: Uuid,
    person_id: Uuid,
    id: Uuid,
    d: &IdentityDraft,
    opted_out_at: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
    insert: bool,
) -> Result<(), sqlx::Error> {
    let write = if insert {
        "INSERT INTO comm_identities (id, org_id, person_id, channel, address, preferred, verified, \
         opted_out_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
    } else {
        "UPDATE comm_identities SET channel = $4, address = $5, preferred = $6, verified = $7, \
         opted_out_at = $8, updated_at = $9 WHERE id = $1 AND org_id = $2 AND person_id = $3"
    };
    let clear = "UPDATE comm_identities SET preferred = FALSE, updated_at = $3 \
                 WHERE org_id = $4 AND person_id = $1 AND id <> $2 AND preferred";
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        if d.preferred {
            sqlx::query(clear).bind(person_id).bind(id).bind(at).bind(org_id).execute(&mut *tx).await?;
        }
        sqlx::query(write)
            .bind(id).bind(org_id).bind(person_id).bind(d.channel.as_str()).bind(&d.address)
            .bind(d.preferred).bind(d.verified).bind(opted_out_at).bind(at)
            .execute(&mut *tx).await?;
        tx.commit().await
    })
}

pub async fn delete_identity(db: &Db, org_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    on_db!(db, pool => sqlx::query("DELETE FROM comm_identities WHERE org_id = $1 AND id = $2")
        .bind(org_id).bind(id).execute(pool).await.map(|r| r.rows_affected() > 0))
}

const CONVERSATION_COLUMNS: &str = "c.id, c.org_id, c.person_id, p.full_name AS person_name, \
    c.channel_type, c.subject, c.status, c.last_message_at, c.created_at, c.updated_at, \
    (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count, \
    (SELECT m.body FROM messages m WHERE m.conversation_id = c.id \
     ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS last_message_preview";

/// Conversations of live people only: a soft-deleted person's threads go out of sight with them.
const CONVERSATION_FROM: &str =
    "conversations c JOIN persons p ON p.id = c.person_id AND p.deleted_at IS NULL";

pub async fn get_conversation(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<Conversation>, sqlx::Error> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.org_id = $1 AND c.id = $2"
    );
    on_db!(db, pool => sqlx::query_as::<_, Conversation>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

#[derive(Clone, Debug, Default)]
pub struct ConversationFilter {
    pub person_id: Option<Uuid>,
    pub status: Option<&'static str>,
}

/// The WHERE clause for a filter, its parameters numbered from `$first`.
fn conversation_where(f: &ConversationFilter, first: usize) -> String {
    let mut clause = String::from("c.org_id = $1");
    let mut n = first;
    if f.person_id.is_some() {
        clause.push_str(&format!(" AND c.person_id = ${n}"));
        n += 1;
    }
    if f.status.is_some() {
        clause.push_str(&format!(" AND c.status = ${n}"));
    }
    clause
}

/// Conversations, latest activity first, and how many match in all. A page after the first
/// is found as a keyset (the key of the row before it read from the index alone, then the
/// rows after it): with OFFSET, each row skipped also had its messages counted.
pub async fn list_conversations(
    db: &Db,
    org_id: Uuid,
    f: &ConversationFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Conversation>, i64), sqlx::Error> {
    // $1 is the organisation, the filter's from $2, then the page's own.
    let clause = conversation_where(f, 2);
    let n = 2 + usize::from(f.person_id.is_some()) + usize::from(f.status.is_some());
    const RECENT: &str = "COALESCE(c.last_message_at, c.created_at)";
    let order = format!("ORDER BY {RECENT} DESC, c.id DESC");
    macro_rules! filtered {
        ($q:expr) => {{
            let mut q = $q.bind(org_id);
            if let Some(p) = f.person_id {
                q = q.bind(p);
            }
            if let Some(s) = f.status {
                q = q.bind(s);
            }
            q
        }};
    }
    let key: Option<(DateTime<Utc>, Uuid)> = if offset > 0 {
        // Read from the index alone (see `deleted_person_ids`).
        let seek = format!(
            "SELECT {RECENT}, c.id FROM conversations c WHERE {clause} AND c.person_id NOT IN {} \
             {order} LIMIT 1 OFFSET ${n}",
            super::deleted_person_ids!()
        );
        let key = on_db!(db, pool =>
            filtered!(sqlx::query_as::<_, (DateTime<Utc>, Uuid)>(&seek)).bind(offset - 1).fetch_optional(pool).await)?;
        if key.is_none() {
            return Ok((Vec::new(), count_conversations(db, org_id, f).await?));
        }
        key
    } else {
        None
    };
    let items = match key {
        None => {
            let sql = format!(
                "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE {clause} {order} LIMIT ${n}"
            );
            on_db!(db, pool => filtered!(sqlx::query_as::<_, Conversation>(&sql)).bind(limit).fetch_all(pool).await)?
        }
        Some((at, id)) => {
            // Said as a range on the indexed expression (SQLite reads a row comparison of an
            // expression and a column as a filter, not as the range it is).
            let sql = format!(
                "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE {clause} \
                 AND {RECENT} <= ${n} AND ({RECENT} < ${n} OR c.id < ${}) {order} LIMIT ${}",
                n + 1,
                n + 2
            );
            on_db!(db, pool => filtered!(sqlx::query_as::<_, Conversation>(&sql)).bind(at).bind(id).bind(limit).fetch_all(pool).await)?
        }
    };
    Ok((items, count_conversations(db, org_id, f).await?))
}

/// How many conversations match: all the organisation's (from an index) less those of
/// deleted people (few, from theirs), exact without reading every conversation's person.
async fn count_conversations(
    db: &Db,
    org_id: Uuid,
    f: &ConversationFilter,
) -> Result<i64, sqlx::Error> {
    let count_clause = conversation_where(f, 2);
    let count_sql = format!(
        "SELECT (SELECT COUNT(*) FROM conversations c WHERE {count_clause}) - \
         (SELECT COUNT(*) FROM persons p JOIN conversations c ON c.person_id = p.id \
          WHERE p.org_id = $1 AND p.deleted_at IS NOT NULL AND {count_clause})"
    );
    on_db!(db, pool => {
        let mut c = sqlx::query_scalar::<_, i64>(&count_sql).bind(org_id);
        if let Some(p) = f.person_id { c = c.bind(p); }
        if let Some(s) = f.status { c = c.bind(s); }
        c.fetch_one(pool).await
    })
}

pub async fn save_conversation(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    d: &ConversationDraft,
    at: DateTime<Utc>,
    insert: bool,
) -> Result<bool, sqlx::Error> {
    let sql = if insert {
        "INSERT INTO conversations (id, org_id, person_id, channel_type, subject, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
    } else {
        "UPDATE conversations SET person_id = $3, channel_type = $4, subject = $5, status = $6, updated_at = $7 \
         WHERE id = $1 AND org_id = $2"
    };
    on_db!(db, pool => sqlx::query(sql)
        .bind(id).bind(org_id).bind(d.person_id).bind(d.channel_type.as_str()).bind(&d.subject)
        .bind(d.status.as_str()).bind(at)
        .execute(pool).await.map(|r| r.rows_affected() > 0))
}

const MESSAGE_COLUMNS: &str =
    "id, org_id, conversation_id, direction, author, author_staff_id, body, delivery_id, created_at";

/// A conversation's messages, oldest first, as a thread reads.
pub async fn messages(
    db: &Db,
    org_id: Uuid,
    conversation_id: Uuid,
    offset: i64,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE org_id = $1 AND conversation_id = $2 \
         ORDER BY created_at, id LIMIT $3 OFFSET $4"
    );
    on_db!(db, pool => sqlx::query_as::<_, Message>(&sql)
        .bind(org_id).bind(conversation_id).bind(limit).bind(offset).fetch_all(pool).await)
}

#[allow(clippy::too_many_arguments)]
/// Adds a message and moves the conversation's `last_message_at` (an archived thread that
/// hears from its person again becomes active).
pub async fn add_message(
    db: &Db,
    org_id: Uuid,
    conversation_id: Uuid,
    id: Uuid,
    d: &MessageDraft,
    author: &str,
    author_staff_id: Option<Uuid>,
    delivery_id: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let insert = "INSERT INTO messages (id, org_id, conversation_id, direction, author, author_staff_id, body, created_at, delivery_id) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    let touch = "UPDATE conversations SET last_message_at = $3, updated_at = $3, \
                 status = CASE WHEN $4 THEN 'active' ELSE status END WHERE org_id = $1 AND id = $2";
    let inbound = d.direction == crate::domain::comms::Direction::In;
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(insert)
            .bind(id).bind(org_id).bind(conversation_id).bind(d.direction.as_str()).bind(author)
            .bind(author_staff_id).bind(&d.body).bind(at).bind(delivery_id)
            .execute(&mut *tx).await?;
        sqlx::query(touch).bind(org_id).bind(conversation_id).bind(at).bind(inbound).execute(&mut *tx).await?;
        tx.commit().await
    })
}

pub async fn get_message(db: &Db, org_id: Uuid, id: Uuid) -> Result<Option<Message>, sqlx::Error> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE org_id = $1 AND id = $2");
    on_db!(db, pool => sqlx::query_as::<_, Message>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

/// The latest messages and notes across a person's conversations, newest first.
pub async fn recent_messages_for_person(
    db: &Db,
    org_id: Uuid,
    person_id: Uuid,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let sql = "SELECT m.id, m.org_id, m.conversation_id, m.direction, m.author, m.author_staff_id, m.body, \
               m.delivery_id, m.created_at FROM messages m JOIN conversations c ON c.id = m.conversation_id \
               WHERE m.org_id = $1 AND c.person_id = $2 ORDER BY m.created_at DESC, m.id DESC LIMIT $3";
    on_db!(db, pool => sqlx::query_as::<_, Message>(sql).bind(org_id).bind(person_id).bind(limit).fetch_all(pool).await)
}

/// The person of the organisation with this address on the channel (an identity, or the
/// person's own e-mail or phone), for an inbound message that names only its sender.
pub async fn person_by_address(
    db: &Db,
    org_id: Uuid,
    channel: &str,
    address: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    let sql = "SELECT i.person_id FROM comm_identities i JOIN persons p ON p.id = i.person_id AND p.deleted_at IS NULL \
               WHERE i.org_id = $1 AND i.channel = $2 AND LOWER(i.address) = LOWER($3) \
               UNION ALL SELECT id FROM persons WHERE org_id = $1 AND deleted_at IS NULL \
               AND (($2 = 'email' AND LOWER(email) = LOWER($3)) OR ($2 IN ('sms', 'whatsapp') AND phone = $3)) \
               LIMIT 1";
    on_db!(db, pool => sqlx::query_scalar::<_, Uuid>(sql)
        .bind(org_id).bind(channel).bind(address).fetch_optional(pool).await)
}

/// The person's latest conversation on a channel, if any.
pub async fn latest_conversation(
    db: &Db,
    org_id: Uuid,
    person_id: Uuid,
    channel: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    let sql =
        "SELECT id FROM conversations WHERE org_id = $1 AND person_id = $2 AND channel_type = $3 \
               ORDER BY COALESCE(last_message_at, created_at) DESC LIMIT 1";
    on_db!(db, pool => sqlx::query_scalar::<_, Uuid>(sql)
        .bind(org_id).bind(person_id).bind(channel).fetch_optional(pool).await)
}

/// Disables an identity with a reason, or (no reason) enables it again with a clean slate.
pub async fn set_identity_disabled(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE comm_identities SET disabled_at = CASE WHEN $3 IS NULL THEN NULL ELSE $4 END, \
               disabled_reason = $3, hard_failures = 0, updated_at = $4 WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(reason).bind(at)
        .execute(pool).await.map(|_| ()))
}

/// Counts a hard failure (a bounce, an unknown number) against an identity in the unit of work
/// `tx`; returns how many there are now in a row, and whether it is already disabled.
pub async fn count_hard_failure(
    tx: &mut Tx,
    org_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<(i32, bool)>, sqlx::Error> {
    let sql = "UPDATE comm_identities SET hard_failures = hard_failures + 1, updated_at = $3 \
               WHERE org_id = $1 AND id = $2 RETURNING hard_failures, disabled_at";
    let row: Option<(i32, Option<DateTime<Utc>>)> = on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(org_id).bind(id).bind(at).fetch_optional(&mut *conn).await?);
    Ok(row.map(|(n, disabled)| (n, disabled.is_some())))
}

/// Disables an identity that kept failing, with why; in the unit of work `tx`.
pub async fn disable_identity(
    tx: &mut Tx,
    org_id: Uuid,
    id: Uuid,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE comm_identities SET disabled_at = $3, disabled_reason = $4, updated_at = $3 \
               WHERE org_id = $1 AND id = $2 AND disabled_at IS NULL";
    on_tx!(tx, conn => sqlx::query(sql).bind(org_id).bind(id).bind(at).bind(reason)
        .execute(&mut *conn).await.map(|_| ()))
}

/// A message reached the identity: its run of hard failures is over.
pub async fn identity_reached(tx: &mut Tx, org_id: Uuid, id: Uuid) -> Result<(), sqlx::Error> {
    let sql = "UPDATE comm_identities SET hard_failures = 0 \
               WHERE org_id = $1 AND id = $2 AND hard_failures > 0";
    on_tx!(tx, conn => sqlx::query(sql).bind(org_id).bind(id)
        .execute(&mut *conn).await.map(|_| ()))
}
