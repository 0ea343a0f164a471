//! The HTML shell, the router with every page, and the signed-in layout.

use crate::api::auth::current_user;
use crate::domain::SessionUser;
use crate::pages::{
    account, approvals, auth, calendar, campaigns, clients, conversations, dates, engagement, home,
    import, messages, projects, settings, vendors,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Outlet, ParentRoute, Route, Router, Routes, A};
use leptos_router::path;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The CSP header of this response names a nonce; the inline hydration script carries it.
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<axum::http::request::Parts>() {
        if let Some(nonce) = parts
            .extensions
            .get::<crate::server::auth::guard::CspNonce>()
        {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The style sheet by its build's hash (`server::assets`), kept a year by browsers.
                <link rel="stylesheet" href=format!("/{}/concierge.css", options.site_pkg_dir)/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the page once the browser has hydrated it (effects never run on the server).
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title formatter=|t: String| if t.is_empty() { "Concierge".to_string() } else { format!("{t} · Concierge") }/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=auth::LoginPage/>
                <Route path=path!("/setup") view=auth::SetupPage/>
                <ParentRoute path=path!("") view=Layout>
                    <Route path=path!("") view=home::HomePage/>
                    <Route path=path!("clients") view=clients::ClientsPage/>
                    <Route path=path!("clients/new") view=clients::NewClientPage/>
                    <Route path=path!("clients/import") view=import::ImportPage/>
                    <Route path=path!("clients/:id") view=clients::ClientPage/>
                    <Route path=path!("clients/:id/edit") view=clients::EditClientPage/>
                    <Route path=path!("clients/:id/dates/new") view=dates::NewDatePage/>
                    <Route path=path!("dates/:id/edit") view=dates::EditDatePage/>
                    <Route path=path!("reminders") view=dates::RemindersPage/>
                    <Route path=path!("calendar") view=calendar::CalendarPage/>
                    <Route path=path!("projects") view=projects::ProjectsPage/>
                    <Route path=path!("projects/new") view=projects::NewProjectPage/>
                    <Route path=path!("projects/:id") view=projects::ProjectPage/>
                    <Route path=path!("projects/:id/edit") view=projects::EditProjectPage/>
                    <Route path=path!("conversations") view=conversations::ConversationsPage/>
                    <Route path=path!("conversations/:id") view=conversations::ConversationPage/>
                    <Route path=path!("vendors") view=vendors::VendorsPage/>
                    <Route path=path!("vendors/new") view=vendors::NewVendorPage/>
                    <Route path=path!("vendors/:id") view=vendors::VendorPage/>
                    <Route path=path!("vendors/:id/edit") view=vendors::EditVendorPage/>
                    <Route path=path!("account") view=account::AccountPage/>
                    <Route path=path!("settings") view=settings::SettingsPage/>
                    <Route path=path!("settings/staff") view=settings::StaffPage/>
                    <Route path=path!("settings/audit") view=settings::AuditPage/>
                    <Route path=path!("settings/channels") view=messages::ChannelsPage/>
                    <Route path=path!("settings/engagement") view=engagement::PolicyPage/>
                    <Route path=path!("engagement") view=engagement::EngagementPage/>
                    <Route path=path!("campaigns") view=campaigns::CampaignsPage/>
                    <Route path=path!("campaigns/new") view=campaigns::NewCampaignPage/>
                    <Route path=path!("campaigns/:id") view=campaigns::CampaignPage/>
                    <Route path=path!("campaigns/:id/edit") view=campaigns::EditCampaignPage/>
                    <Route path=path!("engagement/runs/:id") view=engagement::RunPage/>
                    <Route path=path!("approvals") view=approvals::ApprovalsPage/>
                    <Route path=path!("messages") view=messages::MessagesPage/>
                    <Route path=path!("messages/:id") view=messages::MessagePage/>
                    <Route path=path!("notifications") view=messages::NotificationsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <main class="auth-card">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/">"Go to the home page"</a> "."</p>
        </main>
    }
}

/// The signed-in user, provided to every page inside the layout.
pub type UserResource = Resource<Result<Option<SessionUser>, ServerFnError>>;

/// The signed-in frame: skip link, top bar with navigation to the areas that exist, and the page.
#[component]
fn Layout() -> impl IntoView {
    let user: UserResource = Resource::new(|| (), |_| current_user());
    provide_context(user);
    let counts = Resource::new(|| (), |_| crate::api::messages::nav_counts());
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/">"Concierge"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let counts = counts.await.unwrap_or_default();
                    let (unread, awaiting) = (counts.unread, counts.awaiting_approval);
                    match user.await {
                        Ok(Some(u)) => view! { <Nav user=u unread awaiting/> }.into_any(),
                        _ => view! { <a href="/login">"Sign in"</a> }.into_any(),
                    }
                })}
            </Suspense>
        </header>
        <main id="main" class="content">
            <Outlet/>
        </main>
    }
}

#[component]
fn Nav(user: SessionUser, unread: i64, awaiting: i64) -> impl IntoView {
    let admin = user.role.is_admin();
    view! {
        <nav class="nav" aria-label="Main">
            <A href="/" exact=true>"Home"</A>
            <A href="/clients">"Clients"</A>
            <A href="/calendar">"Calendar"</A>
            <A href="/reminders">"Reminders"</A>
            <A href="/projects">"Projects"</A>
            <A href="/conversations">"Conversations"</A>
            <A href="/messages">"Messages"</A>
            <A href="/engagement">"Engagement"</A>
            <A href="/campaigns">"Campaigns"</A>
            <A href="/approvals">
                "Approvals"
                {(awaiting > 0).then(|| view! { " " <span class="count" aria-label=format!("{awaiting} awaiting approval")>{awaiting}</span> })}
            </A>
            <A href="/vendors">"Vendors"</A>
            {admin.then(|| view! { <A href="/settings">"Settings"</A> })}
        </nav>
        <div class="who">
            <a class="who-notes" href="/notifications">
                "Notifications"
                {(unread > 0).then(|| view! { " " <span class="count" aria-label=format!("{unread} unread")>{unread}</span> })}
            </a>
            <a class="who-name" href="/account" title="Your account">{user.display_name.clone()}</a>
            <span class="who-org">{user.org_name.clone()} " · " {user.role.as_str()}</span>
            <form method="post" action="/logout">
                <button type="submit" class="link-button">"Sign out"</button>
            </form>
        </div>
    }
}
