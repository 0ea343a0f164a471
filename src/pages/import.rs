//! Importing clients from a CSV file: paste it, see every row checked (nothing saved yet),
//! then import in chunks with a progress bar and an answer for each row. And the export link.

use crate::api::clients::{import_rows, PreviewImport};
use crate::components::action_error;
use crate::domain::csv_io::{ImportOutcome, COLUMNS};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;

/// Rows sent per request: small enough to show progress, large enough to be quick.
const CHUNK: usize = 100;

#[component]
pub fn ImportPage() -> impl IntoView {
    let preview = ServerAction::<PreviewImport>::new();
    let preview_error = action_error(preview);
    let done = RwSignal::new(0usize);
    let total = RwSignal::new(0usize);
    let running = RwSignal::new(false);
    let outcomes = RwSignal::new(Vec::<ImportOutcome>::new());
    let failure = RwSignal::new(None::<String>);

    let start = move |_| {
        let Some(Ok(p)) = preview.value().get_untracked() else {
            return;
        };
        let rows = p.rows;
        total.set(rows.len());
        done.set(0);
        outcomes.set(Vec::new());
        failure.set(None);
        running.set(true);
        spawn_local(async move {
            for chunk in rows.chunks(CHUNK) {
                let json = serde_json::to_string(chunk).unwrap_or_default();
                match import_rows(json).await {
                    Ok(mut answered) => {
                        done.update(|d| *d += chunk.len());
                        outcomes.update(|o| o.append(&mut answered));
                    }
                    Err(e) => {
                        failure.set(Some(e.to_string()));
                        break;
                    }
                }
            }
            running.set(false);
        });
    };

    view! {
        <Title text="Import clients"/>
        <div class="page-head">
            <h1>"Import clients"</h1>
            <a class="button" href="/clients/export.csv" rel="external" download>"Export all clients (CSV)"</a>
        </div>
        <p>"Paste a CSV file with a header row. Columns: " <code>{COLUMNS.join(", ")}</code>
           ". Only " <code>"full_name"</code> " is required; tags are separated by semicolons; a row with an "
           <code>"external_id"</code> " that already exists updates that client."</p>
        <ActionForm action=preview attr:class="form">
            <div class="field">
                <label for="f-csv">"CSV"</label>
                <textarea id="f-csv" name="csv" rows="10" required placeholder="full_name,email,phone,timezone,birthday,tags"></textarea>
            </div>
            <button type="submit" disabled=move || preview.pending().get() || running.get()>"Check the rows"</button>
        </ActionForm>
        <crate::components::ErrorNotice message=preview_error/>
        {move || preview.value().get().and_then(Result::ok).map(|p| {
            let bad = p.errors.iter().filter(|e| e.is_some()).count();
            let count = p.rows.len();
            view! {
                <section class="panel" aria-labelledby="preview-heading">
                    <h2 id="preview-heading">{format!("{count} rows · {} ready · {bad} with problems", count - bad)}</h2>
                    <table class="table">
                        <thead><tr><th scope="col">"Line"</th><th scope="col">"Name"</th><th scope="col">"E-mail"</th><th scope="col">"Check"</th></tr></thead>
                        <tbody>
                            {p.rows.iter().zip(p.errors.iter()).take(500).map(|(r, e)| view! {
                                <tr class:has-error=e.is_some()>
                                    <td>{r.line}</td>
                                    <td>{r.input.full_name.clone().unwrap_or_default()}</td>
                                    <td>{r.input.email.clone().unwrap_or_default()}</td>
                                    <td>{e.clone().unwrap_or_else(|| "ready".into())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    {(count > 500).then(|| view! { <p class="muted">"The first 500 rows are shown."</p> })}
                    <button type="button" class="primary" on:click=start disabled=move || running.get() || count == bad>
                        {format!("Import {} rows", count - bad)}
                    </button>
                </section>
            }
        })}
        {move || (total.get() > 0).then(|| {
            let created = outcomes.with(|o| o.iter().filter(|x| x.error.is_none() && x.created).count());
            let updated = outcomes.with(|o| o.iter().filter(|x| x.error.is_none() && !x.created).count());
            let failed: Vec<ImportOutcome> = outcomes.with(|o| o.iter().filter(|x| x.error.is_some()).cloned().collect());
            view! {
                <section class="panel" aria-labelledby="progress-heading">
                    <h2 id="progress-heading">{move || if running.get() { "Importing…" } else { "Import finished" }}</h2>
                    <progress max=total.get() value=done.get()></progress>
                    <p role="status" class="import-status">{format!("{} of {} rows · {created} created · {updated} updated · {} not imported", done.get(), total.get(), failed.len())}</p>
                    {move || failure.get().map(|f| view! { <p class="notice error" role="alert">{f}</p> })}
                    {(!failed.is_empty()).then(|| view! {
                        <table class="table">
                            <thead><tr><th scope="col">"Line"</th><th scope="col">"Name"</th><th scope="col">"Why not"</th></tr></thead>
                            <tbody>
                                {failed.into_iter().map(|f| view! { <tr><td>{f.line}</td><td>{f.name}</td><td>{f.error}</td></tr> }).collect_view()}
                            </tbody>
                        </table>
                    })}
                </section>
            }
        })}
    }
}
