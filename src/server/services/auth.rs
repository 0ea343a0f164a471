//! Setting up the first organisation, signing in and out, and resolving sessions.

use crate::domain::{EmailAddress, FieldErrors, Organisation, Role, SessionUser, Slug, Timezone};
use crate::server::auth::{password, sessions, throttle, token};
use crate::server::db::staff::NewStaff;
use crate::server::db::{self, orgs, staff, Conn, Tx};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SetupInput {
    pub org_name: String,
    pub org_slug: String,
    pub timezone: String,
    pub admin_name: String,
    pub admin_email: String,
    pub password: String,
    /// The code printed in the server's log; needed unless the request comes from this
    /// machine (see [`setup`]).
    pub setup_code: String,
}

/// A new organisation with its first admin. Used by first-run setup and `create-admin`.
pub struct NewAdmin {
    pub org: Organisation,
    pub staff_id: Uuid,
}

/// A required name of at most 120 characters, trimmed.
pub(crate) fn name_check(name: &str) -> Result<String, String> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err("is required".into()),
        n if n > 120 => Err("must be at most 120 characters".into()),
        _ => Ok(name.to_string()),
    }
}

/// Creates the first organisation and its admin. Refused once any organisation exists.
pub async fn setup(
    state: &AppState,
    input: &SetupInput,
    from_this_machine: bool,
) -> ServiceResult<NewAdmin> {
    if state.is_configured().await? {
        return Err(already_set_up());
    }
    if !from_this_machine {
        let code = setup_code(state).await?;
        let given = input.setup_code.trim().to_uppercase();
        if token::sha256_hex(&given) != token::sha256_hex(&code) {
            return Err(ServiceError::invalid(
                "setup_code",
                "enter the setup code that Concierge printed in its log when it started",
            ));
        }
    }
    let mut errors = FieldErrors::new();
    let name = errors.check("org_name", name_check(&input.org_name));
    let slug = errors.check("org_slug", Slug::parse(&input.org_slug));
    let timezone = errors.check("timezone", Timezone::parse(&input.timezone));
    let admin_name = errors.check("admin_name", name_check(&input.admin_name));
    let email = errors.check("admin_email", EmailAddress::parse(&input.admin_email));
    errors.check("password", password::check_policy(&input.password));
    let (Some(name), Some(slug), Some(timezone), Some(admin_name), Some(email)) =
        (name, slug, timezone, admin_name, email)
    else {
        return Err(errors.into());
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let hash = password::hash(input.password.clone()).await?;
    let now = state.clock.now();
    // One organisation, however many setups arrive at once: they wait for one another, and
    // every one after the first finds it there.
    let mut tx = state.db.begin().await?;
    orgs::lock_first_run(&mut tx).await?;
    if orgs::count(&mut tx).await? > 0 {
        return Err(already_set_up());
    }
    let org = create_org(&mut tx, now, &name, &slug, &timezone).await?;
    let new = NewStaff {
        id: Uuid::now_v7(),
        org_id: org.id,
        email: email.as_str(),
        display_name: &admin_name,
        role: Role::Admin.as_str(),
        password_hash: &hash,
        at: now,
    };
    let staff_id = insert_staff(&mut tx, new).await?;
    tx.commit().await?;
    Ok(NewAdmin { org, staff_id })
}

fn already_set_up() -> ServiceError {
    ServiceError::Conflict {
        field: None,
        message: "Concierge is already set up; sign in instead".into(),
    }
}

/// The one-time code first-run setup asks for from anywhere but this machine: made once per
/// installation and kept in the database, so that every process asks for the same one, and
/// printed in the log at start while there is no organisation (see `server::spawn`).
pub async fn setup_code(state: &AppState) -> ServiceResult<String> {
    let make = || {
        use rand::Rng;
        const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut rng = rand::rngs::OsRng;
        let code: String = (0..10)
            .map(|_| LETTERS[rng.gen_range(0..LETTERS.len())] as char)
            .collect();
        format!("{}-{}", &code[..5], &code[5..])
    };
    Ok(db::secrets::installation_secret(
        &state.db,
        &state.keys,
        "setup_code",
        make,
        state.clock.now(),
    )
    .await?)
}

/// Creates an organisation with its default date categories, in the unit of work `tx`.
pub async fn create_org(
    tx: &mut Tx,
    now: chrono::DateTime<chrono::Utc>,
    name: &str,
    slug: &Slug,
    timezone: &Timezone,
) -> ServiceResult<Organisation> {
    let org = Organisation {
        id: Uuid::now_v7(),
        name: name.to_string(),
        slug: slug.as_str().to_string(),
        timezone: timezone.as_str().to_string(),
        phone_region: None,
        created_at: now,
    };
    match orgs::insert(&mut *tx, &org).await {
        Ok(()) => {
            db::dates::seed_categories(tx, org.id, org.created_at).await?;
            Ok(org)
        }
        Err(e) if db::is_unique_violation(&e, "slug") => Err(ServiceError::conflict(
            "org_slug",
            format!("an organisation '{slug}' already exists"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Adds a staff account after checking the password policy and that the address is free.
pub async fn add_staff(
    state: &AppState,
    org_id: Uuid,
    email: &EmailAddress,
    display_name: &str,
    role: Role,
    new_password: &str,
) -> ServiceResult<Uuid> {
    if let Err(message) = password::check_policy(new_password) {
        return Err(ServiceError::invalid("password", message));
    }
    let hash = password::hash(new_password.to_string()).await?;
    let new = NewStaff {
        id: Uuid::now_v7(),
        org_id,
        email: email.as_str(),
        display_name,
        role: role.as_str(),
        password_hash: &hash,
        at: state.clock.now(),
    };
    insert_staff(&state.db, new).await
}

async fn insert_staff(conn: impl Into<Conn<'_>>, new: NewStaff<'_>) -> ServiceResult<Uuid> {
    let (id, email) = (new.id, new.email.to_string());
    match staff::insert(conn, new).await {
        Ok(()) => Ok(id),
        Err(e) if db::is_unique_violation(&e, "email") => Err(ServiceError::conflict(
            "email",
            format!("{email} already has an account"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `create-admin`: the organisation is created when it does not exist yet; an existing
/// account with this address is made an active admin with the new password.
pub async fn create_admin(
    state: &AppState,
    slug: &str,
    email: &str,
    new_password: &str,
    name: Option<&str>,
) -> ServiceResult<(Organisation, Uuid)> {
    let slug = Slug::parse(slug).map_err(|m| ServiceError::invalid("org", m))?;
    let email = EmailAddress::parse(email).map_err(|m| ServiceError::invalid("email", m))?;
    password::check_policy(new_password).map_err(|m| ServiceError::invalid("password", m))?;
    let org = match orgs::by_slug(&state.db, slug.as_str()).await? {
        Some(org) => org,
        None => {
            let mut tx = state.db.begin().await?;
            let title = title_from_slug(slug.as_str());
            let now = state.clock.now();
            let org = create_org(&mut tx, now, &title, &slug, &Timezone::utc()).await?;
            tx.commit().await?;
            org
        }
    };
    let display = name.map(str::to_string).unwrap_or_else(|| {
        email
            .as_str()
            .split('@')
            .next()
            .unwrap_or("Admin")
            .to_string()
    });
    if let Some(existing) = staff::credentials(&state.db, email.as_str()).await? {
        if existing.staff.org_id != org.id {
            return Err(ServiceError::conflict(
                "email",
                format!("{email} belongs to another organisation"),
            ));
        }
        let hash = password::hash(new_password.to_string()).await?;
        let now = state.clock.now();
        staff::set_password(&state.db, org.id, existing.staff.id, &hash, now).await?;
        staff::set_active(&state.db, org.id, existing.staff.id, true, now).await?;
        staff::set_role(&state.db, org.id, existing.staff.id, Role::Admin.as_str()).await?;
        // Whoever knew the old password is signed out.
        db::sessions::delete_for_staff(&state.db, existing.staff.id).await?;
        return Ok((org, existing.staff.id));
    }
    let id = add_staff(state, org.id, &email, &display, Role::Admin, new_password).await?;
    Ok((org, id))
}

fn title_from_slug(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub struct SignInRequest<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub address: &'a str,
    pub user_agent: Option<&'a str>,
}

/// Checks the password (throttled per account and per address) and starts a new session
/// under a new id in `session`: whatever session the browser had is ended, never reused.
pub async fn sign_in(
    state: &AppState,
    session: &tower_sessions::Session,
    req: SignInRequest<'_>,
) -> ServiceResult<SessionUser> {
    let now = state.clock.now();
    if let Some(retry_after) =
        throttle::count_attempt(&state.db, req.email, req.address, now).await?
    {
        return Err(ServiceError::TooManyRequests { retry_after });
    }
    let creds = staff::credentials(&state.db, req.email).await?;
    let active = creds.as_ref().is_some_and(|c| c.staff.active);
    let hash = creds
        .as_ref()
        .filter(|_| active)
        .map(|c| c.password_hash.clone());
    if !password::verify(req.password.to_string(), hash).await {
        // Counted already, before the check.
        return Err(ServiceError::Unauthorized);
    }
    let Some(creds) = creds else {
        return Err(ServiceError::Unauthorized);
    };
    throttle::record_success(&state.db, req.email, req.address).await?;
    staff::record_login(&state.db, creds.staff.org_id, creds.staff.id, now).await?;
    let org = orgs::by_id(&state.db, creds.staff.org_id).await?;
    let user = creds
        .staff
        .signed_in(org.map(|o| o.name).unwrap_or_default());
    sessions::start(session, &user, req.address, req.user_agent).await?;
    Ok(user)
}

/// Deletes sessions past their idle or absolute expiry (housekeeping).
pub async fn purge_expired_sessions(state: &AppState) -> ServiceResult<u64> {
    let now = state.clock.now();
    let idle_before = now - Duration::minutes(state.config.session_idle_minutes);
    Ok(db::sessions::delete_expired(&state.db, now, idle_before).await?)
}

/// Deletes sign-in throttling counters that no longer count (housekeeping).
pub async fn purge_throttle(state: &AppState) -> ServiceResult<u64> {
    Ok(throttle::purge(&state.db, state.clock.now()).await?)
}

/// Ends the session of this request (its row is deleted; the cookie is cleared).
pub async fn sign_out(session: &tower_sessions::Session) -> ServiceResult<()> {
    Ok(sessions::end(session).await?)
}
