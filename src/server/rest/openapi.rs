//! The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`.
//!
//! Every route the API router serves is listed in [`ROUTES`]; a test reads the routers' source
//! and calls each documented route, so the two cannot drift apart.

use serde_json::{json, Map, Value};

/// One documented operation: method, path (as the router writes it), tag, summary, and the
/// query parameters it takes.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub query: &'static [(&'static str, &'static str)],
}

const PAGE: &[(&str, &str)] = &[
    ("skip", "How many to skip (default 0)"),
    ("limit", "How many to return (1–200, default 50)"),
];

macro_rules! routes {
    ($( $method:literal $path:literal $tag:literal $summary:literal $(, query = $query:expr)? ;)+) => {
        pub const ROUTES: &[Route] = &[$(Route {
            method: $method,
            path: $path,
            tag: $tag,
            summary: $summary,
            query: routes!(@query $($query)?),
        }),+];
    };
    (@query) => { &[] };
    (@query $q:expr) => { $q };
}

routes! {
    "post" "/persons" "People" "Create a person, or update the one with the same external_id";
    "get" "/persons" "People" "List people", query = &[
        ("q", "Words to find in name, e-mail, phone, tags"), ("person_type", "client, family_member or contact"),
        ("tag", "Only people with this tag"), ("assigned_staff_id", "Only people this staff member looks after"),
        ("segment", "new, active, at_risk, dormant or churned"),
        ("cursor", "The next_cursor of the previous page"), ("skip", "How many to skip"), ("limit", "How many to return (1–200)"),
    ];
    "get" "/persons/{id}" "People" "Read a person";
    "put" "/persons/{id}" "People" "Change a person (fields present replace, null clears)";
    "delete" "/persons/{id}" "People" "Delete a person (soft delete)";
    "get" "/persons/{id}/dashboard" "People" "The person with recent conversations, upcoming dates, active projects, recent recommendations and stats";
    "get" "/persons/{id}/upcoming" "Dates" "The person's dates in the next days_ahead days", query = &[("days_ahead", "0–366, default 30")];
    "get" "/persons/{id}/activity" "People" "The person's unified timeline, newest first", query = &[("limit", "1–500, default 50")];
    "get" "/persons/{id}/date-items" "Dates" "The person's important dates with their reminder rules", query = &[
        ("category_id", "Only this category"), ("upcoming_only", "true for dates still to come"),
    ];
    "get" "/persons/{id}/identities" "Communication" "The person's communication identities";
    "post" "/persons/{id}/identities" "Communication" "Add a communication identity";
    "get" "/identities/{id}" "Communication" "Read a communication identity";
    "put" "/identities/{id}" "Communication" "Change a communication identity (preferred, verified, opted_out …)";
    "delete" "/identities/{id}" "Communication" "Remove a communication identity";
    "get" "/date-categories" "Dates" "List date categories";
    "post" "/date-categories" "Dates" "Create a date category";
    "get" "/date-categories/{id}" "Dates" "Read a date category";
    "put" "/date-categories/{id}" "Dates" "Change a date category";
    "delete" "/date-categories/{id}" "Dates" "Delete a date category (409 while dates use it)";
    "post" "/date-items" "Dates" "Create an important date with its reminder_rules";
    "get" "/date-items/{id}" "Dates" "Read a date with its reminder rules";
    "put" "/date-items/{id}" "Dates" "Change a date and its rules";
    "delete" "/date-items/{id}" "Dates" "Delete a date and its reminders";
    "get" "/date-items/{id}/reminders" "Dates" "The date's reminder rules";
    "get" "/reminders" "Reminders" "List reminders", query = &[
        ("status_filter", "all, pending, sent, failed or cancelled"), ("person_id", "Only this person's"),
        ("date_item_id", "Only this date's"), ("skip", "How many to skip"), ("limit", "How many to return (1–200)"),
    ];
    "post" "/reminders" "Reminders" "Create a reminder (scheduled, or lead time on a date)";
    "get" "/reminders/{id}" "Reminders" "Read a reminder";
    "put" "/reminders/{id}" "Reminders" "Change a reminder";
    "delete" "/reminders/{id}" "Reminders" "Delete a reminder";
    "get" "/reminders/{id}/history" "Reminders" "What happened to a reminder";
    "post" "/reminders/{id}/retry" "Reminders" "Retry a failed reminder";
    "post" "/reminders/{id}/cancel" "Reminders" "Cancel a reminder";
    "post" "/send-utility" "Deliveries" "Queue a utility message to a person (202 with the delivery; honours Idempotency-Key)";
    "get" "/deliveries" "Deliveries" "The delivery log, newest first, each with its explanation", query = &[
        ("person_id", "Only this person's"), ("status", "pending, sending, sent, delivered, failed, suppressed or cancelled"),
        ("kind", "utility or engagement"), ("channel", "email, sms, whatsapp, slack, webhook or portal"),
        ("reminder_rule_id", "Only this reminder's"), ("skip", "How many to skip"), ("limit", "How many to return (1–200)"),
    ];
    "get" "/deliveries/{id}" "Deliveries" "A delivery with its history and what happened in plain words";
    "post" "/deliveries/{id}/events" "Deliveries" "A provider callback: delivered, failed (hard: true for a bounce), opened, clicked, replied, booked";
    "post" "/deliveries/{id}/retry" "Deliveries" "Send a failed delivery again (same idempotency key)";
    "post" "/deliveries/{id}/cancel" "Deliveries" "Cancel a delivery that has not gone yet";
    "post" "/inbound" "Communication" "An inbound message from a person, threaded into their conversation on that channel";
    "get" "/projects" "Projects" "List projects, most urgent first", query = &[
        ("person_id", "Only this person's"), ("status", "new, in_progress, completed, cancelled or all"),
        ("active_only", "true for new and in-progress"), ("skip", "How many to skip"), ("limit", "How many to return (1–200)"),
    ];
    "post" "/projects" "Projects" "Create a project";
    "get" "/projects/{id}" "Projects" "Read a project with its completion";
    "put" "/projects/{id}" "Projects" "Change a project";
    "get" "/projects/{id}/tasks" "Projects" "The project's tasks in order";
    "post" "/projects/{id}/tasks" "Projects" "Add a task (at position, or at the end)";
    "get" "/tasks/{id}" "Projects" "Read a task";
    "put" "/tasks/{id}" "Projects" "Change, complete or move a task";
    "get" "/conversations" "Communication" "List conversations, latest first", query = &[
        ("person_id", "Only this person's"), ("status", "active, archived or all"),
        ("skip", "How many to skip"), ("limit", "How many to return (1–200)"),
    ];
    "post" "/conversations" "Communication" "Start a conversation";
    "get" "/conversations/{id}" "Communication" "Read a conversation";
    "put" "/conversations/{id}" "Communication" "Change a conversation (subject, status)";
    "get" "/conversations/{id}/messages" "Communication" "The conversation's messages, oldest first", query = PAGE;
    "post" "/conversations/{id}/messages" "Communication" "Add a message or a staff note";
    "get" "/vendors" "Vendors" "Search the vendor catalogue", query = &[
        ("q", "Words in name, location, tags"), ("kind", "venue, restaurant, vendor or product"),
        ("tag", "Only vendors with this tag"), ("skip", "How many to skip"), ("limit", "How many to return (1–200)"),
    ];
    "post" "/vendors" "Vendors" "Add a vendor";
    "get" "/vendors/{id}" "Vendors" "Read a vendor";
    "put" "/vendors/{id}" "Vendors" "Change a vendor";
    "delete" "/vendors/{id}" "Vendors" "Take a vendor out of the catalogue";
    "get" "/campaigns" "Campaigns" "List campaigns, newest first", query = &[
        ("status", "Only campaigns in this status (draft, active, paused, completed)"),
        ("skip", "How many to skip"), ("limit", "How many to return (1–200)"),
    ];
    "post" "/campaigns" "Campaigns" "Create a campaign (a draft): audience, channel, variants with weights, holdout, schedule, send window";
    "get" "/campaigns/{id}" "Campaigns" "Read a campaign";
    "put" "/campaigns/{id}" "Campaigns" "Change a campaign (fields present replace its own; a status activates, pauses or resumes it)";
    "get" "/campaigns/{id}/preview" "Campaigns" "Each variant rendered for a chosen client, with their arm and what the policy would do now", query = &[
        ("person_id", "The client to preview for"),
    ];
    "get" "/campaigns/{id}/stats" "Campaigns" "The campaign's results per variant and for the holdout: assigned, sent, delivered, opened, clicked, converted, conversion rate with its 95 % interval, lift against the holdout; day by day";
    "get" "/campaigns/{id}/stats.csv" "Campaigns" "The campaign's results per arm as CSV";
    "get" "/campaigns/{id}/audience" "Campaigns" "The campaign's audience now: its size, each arm, and how many the policy would send, hold or skip (and why)";
    "get" "/approvals" "Campaigns" "AI-written messages awaiting approval, oldest first", query = &[
        ("skip", "How many to skip"), ("limit", "How many to return (1–200)"),
    ];
    "post" "/approvals/approve" "Campaigns" "Approve messages awaiting approval (`ids`): each goes at the time it was meant for";
    "post" "/approvals/reject" "Campaigns" "Reject messages awaiting approval (`ids`, an optional `reason`): none is sent";
    "put" "/approvals/{id}" "Campaigns" "New words for a message awaiting approval (`subject`, `body`); the safety filter runs again";
    "get" "/webhooks" "Deliveries" "The organisation's event webhook subscriptions";
    "post" "/webhooks" "Deliveries" "Subscribe an endpoint (`url`) to delivery events (`events`: sent, delivered, failed, clicked, booked, unsubscribed; all when absent); the answer carries the signing secret, shown this once";
    "get" "/webhooks/{id}" "Deliveries" "Read a subscription";
    "put" "/webhooks/{id}" "Deliveries" "Change a subscription (url, events, description, enabled)";
    "delete" "/webhooks/{id}" "Deliveries" "Remove a subscription";
    "get" "/recommendations" "Vendors" "List recommendations, newest first", query = &[
        ("person_id", "Only to this person"), ("project_id", "Only for this project"), ("vendor_id", "Only of this vendor"),
        ("skip", "How many to skip"), ("limit", "How many to return (1–200)"),
    ];
    "post" "/recommendations" "Vendors" "Recommend a vendor to a person or for a project";
    "get" "/recommendations/{id}" "Vendors" "Read a recommendation";
    "put" "/recommendations/{id}" "Vendors" "Change a recommendation (status, notes)";
    "delete" "/recommendations/{id}" "Vendors" "Delete a recommendation";
    "post" "/activity/login" "Activity" "Report that a person signed in to the client app";
    "post" "/activity/event" "Activity" "Report one activity event (person by person_id or external_id)";
    "post" "/activity/events" "Activity" "Report a batch of events, all or nothing";
    "post" "/cron/run-engagement" "Engagement" "Run engagement now: recompute segments and churn risk, then queue, hold or skip a nudge for every dormant or due person (body or query dry_run=true: decide and report, change nothing)", query = &[
        ("dry_run", "true to decide and report without changing anything"),
    ];
    "get" "/engagement/policy" "Engagement" "The engagement policy: thresholds, caps, quiet hours, channel, booking address, templates";
    "get" "/engagement/runs" "Engagement" "The latest engagement runs with their summaries", query = &[("limit", "1–100, default 20")];
    "get" "/engagement/runs/{id}" "Engagement" "One run with its summary and the first decisions it made";
    "get" "/engagement/stats" "Engagement" "Engagement messages sent, clicked and booked per day", query = &[("days", "1–90, default 14")];
    "get" "/persons/{id}/engagement" "Engagement" "The person's segment, churn risk and labels explained, their booking cadence and the latest decision about them";
    "get" "/openapi.json" "Meta" "This document";
}

fn operation(r: &Route) -> Value {
    let mut parameters: Vec<Value> = Vec::new();
    if r.path.contains("{id}") {
        parameters.push(json!({
            "name": "id", "in": "path", "required": true,
            "schema": { "type": "string", "format": "uuid" }
        }));
    }
    let writes = matches!(r.method, "post" | "put" | "patch" | "delete");
    if writes {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Any text up to 255 characters, new for each new request. Sent again with \
                the same request within 24 hours, it answers with the first response (marked \
                Idempotent-Replayed: true) without doing the work again; with another request it is a 422.",
            "schema": { "type": "string", "minLength": 1, "maxLength": 255 }
        }));
    }
    for (name, description) in r.query {
        parameters.push(json!({
            "name": name, "in": "query", "required": false,
            "description": description, "schema": { "type": "string" }
        }));
    }
    let (ok, ok_text) = match r.method {
        "post" if r.path.ends_with("/retry") || r.path.ends_with("/cancel") => ("200", "Done"),
        "post" => ("201", "Created"),
        "delete" => ("204", "Deleted"),
        _ => ("200", "OK"),
    };
    let mut responses = Map::new();
    let ok_body = if ok == "204" {
        json!({ "description": ok_text })
    } else {
        json!({ "description": ok_text, "content": { "application/json": { "schema": { "type": "object" } } } })
    };
    responses.insert(ok.into(), ok_body);
    let problem = |d: &str| {
        json!({ "description": d, "content": { "application/problem+json": {
            "schema": { "$ref": "#/components/schemas/Problem" } } } })
    };
    if r.path != "/openapi.json" {
        responses.insert("401".into(), problem("No or unknown API key"));
        responses.insert("404".into(), problem("No such record in this organisation"));
        responses.insert(
            "429".into(),
            problem("Too many requests for this API key; see Retry-After and RateLimit"),
        );
        responses.insert(
            "503".into(),
            problem("The database cannot be reached just now, or the request took too long; see Retry-After"),
        );
        if writes {
            responses.insert(
                "409".into(),
                problem("A conflict (`field` names it), or a request with this Idempotency-Key is still being answered"),
            );
        }
        if matches!(r.method, "post" | "put") {
            responses.insert("413".into(), problem("The body is larger than 1 MiB"));
            responses.insert("400".into(), problem("The body is not a JSON object"));
            responses.insert(
                "422".into(),
                problem("A field is invalid; `field` names it"),
            );
        }
    }
    let mut op = json!({
        "tags": [r.tag],
        "summary": r.summary,
        "operationId": format!("{}_{}", r.method, r.path.trim_start_matches('/').replace(['/', '-', '.'], "_").replace(['{', '}'], "")),
        "parameters": parameters,
        "responses": responses,
    });
    if matches!(r.method, "post" | "put") {
        op["requestBody"] = json!({
            "required": !r.path.ends_with("/retry") && !r.path.ends_with("/cancel"),
            "content": { "application/json": { "schema": { "type": "object" } } }
        });
    }
    if r.path == "/openapi.json" {
        op["security"] = json!([]);
    }
    op
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method] = operation(r);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Concierge API",
            "version": "1",
            "description": "The integration API of Concierge. Authenticate with `Authorization: Bearer <api key>`; \
                errors are application/problem+json (RFC 9457). Records carry `id` and the original \
                prototype's name for it (`person_id`, `date_item_id` …).",
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "apiKey": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": { "type": "string" }, "title": { "type": "string" },
                        "status": { "type": "integer" }, "detail": { "type": "string" },
                        "field": { "type": "string", "description": "The field that is wrong, on 409 and 422" },
                        "errors": { "type": "array", "items": { "type": "object" } },
                    },
                },
            },
        },
    })
}

pub async fn serve() -> axum::Json<Value> {
    axum::Json(document())
}
