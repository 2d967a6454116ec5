//! Live collaboration as people see it (issue 3): what one person types
//! appears for the other, a latecomer gets everything, typing at the same
//! place at the same time converges, and a caret stays on its characters
//! while someone types before it.

use tandem_e2e::{DEADLINE, poll, run_test, tid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_see_each_others_text_and_a_latecomer_sees_it_all() {
    run_test(
        "two_people_see_each_others_text_and_a_latecomer_sees_it_all",
        async |ctx| {
            let editor = tid("editor");
            let (a, b) = (ctx.page().await, ctx.page().await);
            a.open_editor("/d/e2e-collab").await;
            b.open_editor("/d/e2e-collab").await;

            a.type_into(&editor, "Hello from A.").await;
            b.wait_for_value(&editor, "Hello from A.", DEADLINE).await;
            b.type_at(&editor, 13, " And from B.").await;
            let text = "Hello from A. And from B.";
            a.wait_for_value(&editor, text, DEADLINE).await;
            b.wait_for_value(&editor, text, DEADLINE).await;

            let c = ctx.page().await;
            c.open_editor("/d/e2e-collab").await;
            c.wait_for_value(&editor, text, DEADLINE).await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_at_the_same_place_at_the_same_time_converges() {
    run_test(
        "typing_at_the_same_place_at_the_same_time_converges",
        async |ctx| {
            let editor = tid("editor");
            let (a, b) = (ctx.page().await, ctx.page().await);
            a.open_editor("/d/e2e-concurrent").await;
            b.open_editor("/d/e2e-concurrent").await;
            a.type_into(&editor, "[]").await;
            b.wait_for_value(&editor, "[]", DEADLINE).await;

            // Both carets between the brackets; then both type, key by key,
            // neither waiting for the other's keys to arrive.
            a.set_caret(&editor, 1).await;
            b.set_caret(&editor, 1).await;
            let (a_keys, b_keys) = ("abcdefghij", "0123456789");
            let a_field = a.wait_for(&editor, DEADLINE).await;
            let b_field = b.wait_for(&editor, DEADLINE).await;
            let typing = |field: fantoccini::elements::Element, keys: &'static str| async move {
                for key in keys.chars() {
                    let key = key.to_string();
                    if let Err(err) = field.send_keys(&key).await {
                        panic!("cannot type {key:?}: {err}");
                    }
                }
            };
            tokio::join!(typing(a_field, a_keys), typing(b_field, b_keys));

            let text = poll(
                "both editors to show the same text with all 22 characters",
                DEADLINE,
                async || {
                    let (in_a, in_b) = (a.value(&editor).await, b.value(&editor).await);
                    if in_a == in_b && in_a.len() == 22 {
                        Ok(in_a)
                    } else {
                        Err(format!("A shows {in_a:?}, B shows {in_b:?}"))
                    }
                },
            )
            .await;
            assert!(
                text.starts_with('[') && text.ends_with(']'),
                "both typed between the brackets: {text:?}"
            );
            // Each person's keys land in the order they were typed.
            let only =
                |keys: &str| -> String { text.chars().filter(|c| keys.contains(*c)).collect() };
            assert_eq!(only(a_keys), a_keys, "A's keys in {text:?}");
            assert_eq!(only(b_keys), b_keys, "B's keys in {text:?}");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caret_stays_on_its_characters_while_someone_types_before_it() {
    run_test(
        "a_caret_stays_on_its_characters_while_someone_types_before_it",
        async |ctx| {
            let editor = tid("editor");
            let (a, b) = (ctx.page().await, ctx.page().await);
            a.open_editor("/d/e2e-caret").await;
            b.open_editor("/d/e2e-caret").await;
            a.type_into(&editor, "hello world").await;
            b.wait_for_value(&editor, "hello world", DEADLINE).await;

            // A's caret goes before "world"; B types at the very start.
            a.set_caret(&editor, 6).await;
            b.type_at(&editor, 0, "Say: ").await;
            a.wait_for_value(&editor, "Say: hello world", DEADLINE)
                .await;

            let (start, end) = a.selection(&editor).await;
            assert_eq!(
                (start, end),
                (11, 11),
                "A's caret moved with its characters (still between \"hello \" and \"world\")"
            );
            let text = a.value(&editor).await;
            let (before, after) = text.split_at(usize::try_from(start).unwrap_or(usize::MAX));
            assert!(
                before.ends_with("hello ") && after.starts_with("world"),
                "A's caret sits between {before:?} and {after:?}"
            );

            // And A keeps typing where the caret is.
            a.type_into(&editor, "big ").await;
            b.wait_for_value(&editor, "Say: hello big world", DEADLINE)
                .await;
        },
    )
    .await;
}
