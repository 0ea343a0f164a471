//! Home: what needs attention. For now, the client count and the ways in.

use crate::api::clients::list_clients;
use crate::app::UserResource;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let user = use_context::<UserResource>();
    let clients = Resource::new(|| (), |_| list_clients(String::new(), 1));
    view! {
        <Title text="Home"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let name = match user {
                    Some(u) => u.await.ok().flatten().map(|u| u.display_name).unwrap_or_default(),
                    None => String::new(),
                };
                let total = clients.await.map(|p| p.total).unwrap_or_default();
                view! {
                    <h1>"Good to see you, " {name}</h1>
                    <section class="cards">
                        <a class="card" href="/clients">
                            <span class="card-number">{total}</span>
                            <span class="card-label">"clients in your care"</span>
                        </a>
                        <a class="card action" href="/clients/new">
                            <span class="card-number">"+"</span>
                            <span class="card-label">"Add a client"</span>
                        </a>
                    </section>
                }
            })}
        </Suspense>
    }
}
