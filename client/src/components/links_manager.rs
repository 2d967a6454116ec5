//! The share links of a protected document, managed from the Share popover
//! by its editors: every link with what it allows, when it stops working
//! and who made it; a new link with a right, a label and an expiry (1 hour,
//! 1 day, 7 days or never); and, on each link that still works, Copy, a
//! right to change and Revoke (asked twice: it cannot be undone). Changes
//! reach everyone using a link at once (the server closes or narrows their
//! connections). The list is fetched when the popover opens and after each
//! change. A document opened by name has no links: the server says so
//! (409) and the section stays hidden.

use leptos::prelude::*;
use tandem_shared::links::{
    EXPIRY_CHOICES, LinkEntry, LinkId, LinkPatch, LinkState, NewLink, Right, check_label,
};
use tandem_shared::{RoomId, ShareKeys};
use wasm_bindgen::JsCast;

use super::CopyField;
use super::copy_field::copy_to_clipboard;
use crate::error::ClientError;
use crate::links;

/// One change to the links, as the request that makes it.
type Change = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ClientError>>>>;

/// What the section shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Listing {
    /// The first answer has not come yet.
    Loading,
    /// The room's links, in the order shown.
    Links(Vec<LinkEntry>),
    /// The room has no links to manage (opened by name).
    Unavailable,
}

/// `links-manager`: rows `link-row` (`data-link-id`, `data-state`) with
/// `link-right`, `link-copy`, `link-revoke` (then `link-revoke-confirm` /
/// `link-revoke-cancel`); the form `new-link-right`, `new-link-label`,
/// `new-link-expiry`, `new-link-create`, then `new-link-url`; errors in
/// `links-error`.
#[component]
pub(crate) fn LinksManager(
    room: RoomId,
    /// This page's key: an edit link's, which the API wants.
    key: String,
    /// The name this person gave in the editor, recorded as the creator.
    creator: Signal<String>,
    /// The popover's quick edit and view links, kept in step with the
    /// list (a revoked one leaves them at once).
    share: RwSignal<Option<ShareKeys>>,
) -> impl IntoView {
    let listing = RwSignal::new(Listing::Loading);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let confirming = RwSignal::new(None::<LinkId>);
    let created = RwSignal::new(None::<String>);
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let url_of = {
        let room = room.clone();
        move |key: &str| format!("{origin}{}", room.page_path(Some(key)))
    };

    // One list request, then `after` with the focus target, if any.
    let reload = {
        let (room, key) = (room.clone(), key.clone());
        move |focus: Option<String>| {
            let (room, key) = (room.clone(), key.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match links::list(&room, &key).await {
                    Ok(list) => {
                        // Only a change re-renders the quick fields (and
                        // moves the focus out of them).
                        let quick = links::share_keys(&list);
                        if share.try_get_untracked().is_some_and(|now| now != quick) {
                            share.try_set(quick);
                        }
                        listing.try_set(Listing::Links(links::ordered(list)));
                    }
                    Err(ClientError::Http { status: 409, .. }) => {
                        listing.try_set(Listing::Unavailable);
                    }
                    Err(e) => {
                        error.try_set(Some(format!("Could not load the links: {}", e.explain())));
                    }
                }
                if let Some(selector) = focus {
                    focus_selector(&selector);
                }
            });
        }
    };
    reload.clone()(None);

    // Runs one change, then shows the list as it now is.
    let act = {
        let reload = reload.clone();
        move |what: &'static str, focus: Option<String>, change: Change| {
            busy.set(true);
            error.set(None);
            let reload = reload.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = change.await {
                    error.try_set(Some(format!("Could not {what}: {}", e.explain())));
                }
                busy.try_set(false);
                reload(focus);
            });
        }
    };

    let new_right = RwSignal::new(Right::View);
    let new_label = RwSignal::new(String::new());
    let new_expiry = RwSignal::new(1usize);
    let on_create = {
        let (room, key, act) = (room.clone(), key.clone(), act.clone());
        let url_of = url_of.clone();
        move |ev: web_sys::SubmitEvent| {
            ev.prevent_default();
            let label = new_label.get_untracked().trim().to_owned();
            if let Some(why) = (!label.is_empty()).then(|| check_label(&label)).flatten() {
                error.set(Some(format!("Could not create the link: {why}.")));
                return;
            }
            let creator = creator.get_untracked();
            let new = NewLink {
                right: new_right.get_untracked(),
                label: (!label.is_empty()).then_some(label),
                expires_in: EXPIRY_CHOICES
                    .get(new_expiry.get_untracked())
                    .and_then(|(_, secs)| *secs),
                created_by: (!creator.trim().is_empty()).then_some(creator),
            };
            let (room, key, url_of) = (room.clone(), key.clone(), url_of.clone());
            act(
                "create the link",
                Some("[data-testid=new-link-url]".to_owned()),
                Box::pin(async move {
                    let link = links::create(&room, &key, &new).await?;
                    created.try_set(link.key.as_deref().map(&url_of));
                    new_label.try_set(String::new());
                    Ok(())
                }),
            );
        }
    };

    let row = {
        let (room, key, act, url_of) = (room.clone(), key.clone(), act.clone(), url_of.clone());
        move |link: LinkEntry| {
            let name = links::name(&link);
            let details = links::details(&link, js_sys::Date::now() as i64);
            let mine = link.key.as_deref() == Some(key.as_str());
            let active = link.state == LinkState::Active;
            let id = link.id.clone();
            let row_selector = format!("[data-link-id=\"{id}\"]");
            let on_right = {
                let (room, key, act, id) = (room.clone(), key.clone(), act.clone(), id.clone());
                let focus = format!("{row_selector} [data-testid=link-right]");
                move |ev: web_sys::Event| {
                    let Some(right) = Right::parse(&event_target_value(&ev)) else {
                        return;
                    };
                    let (room, key, id) = (room.clone(), key.clone(), id.clone());
                    let patch = LinkPatch {
                        right: Some(right),
                        ..LinkPatch::default()
                    };
                    act(
                        "change the link",
                        Some(focus.clone()),
                        Box::pin(
                            async move { links::change(&room, &key, &id, &patch).await.map(drop) },
                        ),
                    );
                }
            };
            let on_revoke = {
                let (room, key, act, id) = (room.clone(), key.clone(), act.clone(), id.clone());
                move |_| {
                    let (room, key, id) = (room.clone(), key.clone(), id.clone());
                    confirming.set(None);
                    act(
                        "revoke the link",
                        Some("[data-testid=links-heading]".to_owned()),
                        Box::pin(async move { links::revoke(&room, &key, &id).await }),
                    );
                }
            };
            let url = link.key.as_deref().map(&url_of);
            let on_copy = move |ev: web_sys::MouseEvent| {
                let Some(url) = url.clone() else { return };
                let button = ev
                    .current_target()
                    .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok());
                wasm_bindgen_futures::spawn_local(async move {
                    let copied = copy_to_clipboard(&url).await;
                    if let Some(button) = button {
                        button.set_text_content(Some(if copied {
                            "Copied"
                        } else {
                            "Copy failed"
                        }));
                    }
                });
            };
            let asking = {
                let id = id.clone();
                move || confirming.with(|c| c.as_ref() == Some(&id))
            };
            let ask = {
                let id = id.clone();
                move |_| confirming.set(Some(id.clone()))
            };
            let cancel = {
                let focus = format!("{row_selector} [data-testid=link-revoke]");
                move |_| {
                    confirming.set(None);
                    focus_selector(&focus);
                }
            };
            let right = link.right;
            let warning = if mine {
                "Everyone using this link, this page included, loses access at once."
            } else {
                "Everyone using this link loses access at once."
            };
            let (name_for_right, name_for_copy, name_for_revoke, name_for_confirm) =
                (name.clone(), name.clone(), name.clone(), name.clone());
            view! {
                <li
                    class="link-row"
                    data-testid="link-row"
                    data-link-id=id.to_string()
                    data-state=match link.state {
                        LinkState::Active => "active",
                        LinkState::Expired => "expired",
                        LinkState::Revoked => "revoked",
                    }
                >
                    <div class="link-main">
                        <span class="link-name">{name}</span>
                        {mine.then(|| view! { <span class="badge link-mine">"This page's link"</span> })}
                        <span class="link-details">
                            {(!active).then(|| right.describe().to_owned() + " · ")}
                            {details}
                        </span>
                    </div>
                    {active.then(|| view! {
                        <div class="link-actions">
                            <select
                                class="link-right"
                                data-testid="link-right"
                                aria-label=format!("What {name_for_right} allows")
                                prop:value=right.as_str()
                                prop:disabled=move || busy.get()
                                on:change=on_right.clone()
                            >
                                // The rights offered, and the link's own
                                // (a comment link made through the API).
                                {Right::ALL
                                    .into_iter()
                                    .filter(|r| Right::OFFERED.contains(r) || *r == right)
                                    .map(|r| view! {
                                        <option value=r.as_str() selected=r == right>{r.describe()}</option>
                                    })
                                    .collect::<Vec<_>>()}
                            </select>
                            <button
                                type="button"
                                class="btn btn-small btn-secondary"
                                data-testid="link-copy"
                                aria-label=format!("Copy {name_for_copy}")
                                on:click=on_copy.clone()
                            >
                                "Copy"
                            </button>
                            <button
                                type="button"
                                class="btn btn-small btn-secondary link-revoke"
                                data-testid="link-revoke"
                                aria-label=format!("Revoke {name_for_revoke}")
                                prop:disabled=move || busy.get()
                                on:click=ask.clone()
                            >
                                "Revoke"
                            </button>
                        </div>
                    })}
                    <Show when=asking.clone()>
                        <div class="link-confirm" role="group" aria-label=format!("Revoke {name_for_confirm}?")>
                            <p class="small">{warning}</p>
                            <button
                                type="button"
                                class="btn btn-small btn-danger"
                                data-testid="link-revoke-confirm"
                                on:click=on_revoke.clone()
                            >
                                "Revoke for everyone"
                            </button>
                            <button
                                type="button"
                                class="btn btn-small btn-secondary"
                                data-testid="link-revoke-cancel"
                                on:click=cancel.clone()
                            >
                                "Cancel"
                            </button>
                        </div>
                    </Show>
                </li>
            }
        }
    };

    // The confirmation takes the focus as it appears.
    Effect::new(move |_| {
        if let Some(id) = confirming.get() {
            request_animation_frame(move || {
                focus_selector(&format!(
                    "[data-link-id=\"{id}\"] [data-testid=link-revoke-confirm]"
                ));
            });
        }
    });

    let count = move || match listing.get() {
        Listing::Links(list) => {
            let working = list.iter().filter(|l| l.state == LinkState::Active).count();
            format!("Links ({working} working)")
        }
        _ => "Links".to_owned(),
    };
    view! {
        <Show when=move || listing.with(|l| *l != Listing::Unavailable)>
            <section class="links-manager" data-testid="links-manager" aria-labelledby="links-heading">
                <h2 class="links-heading" id="links-heading" data-testid="links-heading" tabindex="-1">
                    {count}
                </h2>
                <p class="muted small">
                    "Each link grants a right until it expires or you revoke it; changes reach everyone using it at once."
                </p>
                {move || error.get().map(|e| view! {
                    <p class="field-error" role="alert" data-testid="links-error">{e}</p>
                })}
                {
                    let row = row.clone();
                    move || match listing.get() {
                        Listing::Loading => view! { <p class="muted small">"Loading the links…"</p> }.into_any(),
                        Listing::Unavailable => ().into_any(),
                        Listing::Links(list) => view! {
                            <ul class="link-list" data-testid="link-list">
                                {list.into_iter().map(row.clone()).collect_view()}
                            </ul>
                        }
                        .into_any(),
                    }
                }
                <form class="new-link" aria-labelledby="new-link-heading" on:submit=on_create.clone()>
                    <h3 class="new-link-heading" id="new-link-heading">"New link"</h3>
                    <div class="new-link-fields">
                        <label class="new-link-field">
                            <span class="popover-label">"Allows"</span>
                            <select
                                data-testid="new-link-right"
                                on:change=move |ev| {
                                    if let Some(right) = Right::parse(&event_target_value(&ev)) {
                                        new_right.set(right);
                                    }
                                }
                            >
                                {Right::OFFERED.map(|r| view! {
                                    <option value=r.as_str() selected=move || new_right.get() == r>{r.describe()}</option>
                                })}
                            </select>
                        </label>
                        <label class="new-link-field">
                            <span class="popover-label">"Expires"</span>
                            <select
                                data-testid="new-link-expiry"
                                on:change=move |ev| {
                                    if let Ok(at) = event_target_value(&ev).parse::<usize>() {
                                        new_expiry.set(at);
                                    }
                                }
                            >
                                {EXPIRY_CHOICES.iter().enumerate().map(|(at, (label, _))| view! {
                                    <option value=at.to_string() selected=move || new_expiry.get() == at>{*label}</option>
                                }).collect_view()}
                            </select>
                        </label>
                    </div>
                    <label class="new-link-field">
                        <span class="popover-label">"Label (optional)"</span>
                        <input
                            class="text-input"
                            data-testid="new-link-label"
                            type="text"
                            maxlength="100"
                            placeholder="Design review"
                            prop:value=move || new_label.get()
                            on:input=move |ev| new_label.set(event_target_value(&ev))
                        />
                    </label>
                    <button
                        type="submit"
                        class="btn btn-small btn-primary"
                        data-testid="new-link-create"
                        prop:disabled=move || busy.get()
                    >
                        "Create link"
                    </button>
                    {move || created.get().map(|url| view! {
                        <CopyField
                            id="new-link-url"
                            testid="new-link-url"
                            copy_testid="new-link-copy"
                            label="New link"
                            url=url
                            hint=Signal::stored("Copy it now or later from the list above.")
                        />
                    })}
                </form>
            </section>
        </Show>
    }
}

/// Moves the focus to the first element matching `selector`, if any.
fn focus_selector(selector: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}
