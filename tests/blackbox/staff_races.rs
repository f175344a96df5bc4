//! Issue 14, defect 2: the "last active president" rule holds under races. Two presidents
//! demoting or deleting each other (or themselves) at the same moment, through `/api` and
//! `/v1`, never leave the bar without a president.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{backends, serde_urlencoded, Server};
use crate::v1_staff::{call, get, post, session};

/// How one president tries to take away another's rights 3.
#[derive(Debug, Clone, Copy)]
enum Takeaway {
    ApiDemote,
    ApiDelete,
    V1Demote,
    V1Delete,
}

/// Does `how` to `target` as `actor` (session token `token`, valid for both dialects).
async fn take_away(s: &Server, token: &str, target: &str, how: Takeaway) -> String {
    match how {
        Takeaway::ApiDemote | Takeaway::ApiDelete => {
            let (path, form) = match how {
                Takeaway::ApiDemote => (
                    "utilisateur/droit",
                    vec![("jeton", token), ("login", target), ("droit", "2")],
                ),
                _ => (
                    "utilisateur/supprimer",
                    vec![("jeton", token), ("login", target)],
                ),
            };
            let resp = s
                .client
                .post(format!("{}/api/{path}", s.base))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded(&form))
                .send()
                .await
                .unwrap();
            let v: Value = resp.json().await.unwrap();
            v["status"].as_str().unwrap().to_owned()
        }
        Takeaway::V1Demote => {
            let (status, _, v) = call(
                s,
                Method::PATCH,
                &format!("/v1/users/{target}"),
                Some(token),
                Some(json!({"rights": 2})),
                &[],
            )
            .await;
            format!("{status} {}", v["code"])
        }
        Takeaway::V1Delete => {
            let (status, _, v) = call(
                s,
                Method::DELETE,
                &format!("/v1/users/{target}"),
                Some(token),
                None,
                &[],
            )
            .await;
            format!("{status} {}", v["code"])
        }
    }
}

/// The active presidents, as the first of `tokens` still allowed to list users sees them.
async fn presidents(s: &Server, tokens: &[&str]) -> Vec<String> {
    for token in tokens {
        let (status, _, v) = get(s, "/v1/users?per_page=500", token).await;
        if status == 200 {
            return v["data"]["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|u| u["rights"] == 3)
                .map(|u| u["login"].as_str().unwrap().to_owned())
                .collect();
        }
    }
    Vec::new()
}

#[tokio::test]
async fn two_presidents_taking_each_other_away_at_once_leave_one() {
    use Takeaway::*;
    let rounds = [
        (ApiDemote, ApiDemote, false),
        (ApiDelete, ApiDelete, false),
        (V1Demote, V1Demote, false),
        (V1Delete, V1Delete, false),
        (ApiDemote, V1Delete, false),
        (V1Demote, ApiDelete, false),
        (ApiDemote, V1Demote, true),
        (ApiDelete, V1Delete, true),
    ];
    for backend in backends() {
        let s = Arc::new(Server::start(backend));
        let mut keeper = ("prez".to_owned(), session(&s, "prez").await);
        for (round, (first, second, themselves)) in rounds.iter().cycle().take(24).enumerate() {
            let other = format!("prez{round}");
            let (status, _, v) = post(
                &s,
                "/v1/users",
                &keeper.1,
                json!({"login": other, "password": "secret-pw", "rights": 3}),
            )
            .await;
            assert_eq!(status, 201, "{v}");
            let pair = [keeper.clone(), (other.clone(), session(&s, &other).await)];
            let tasks: Vec<_> = [(0, *first), (1, *second)]
                .into_iter()
                .map(|(i, how)| {
                    let s = s.clone();
                    let token = pair[i].1.clone();
                    let target = if *themselves {
                        pair[i].0.clone()
                    } else {
                        pair[1 - i].0.clone()
                    };
                    tokio::spawn(async move { take_away(&s, &token, &target, how).await })
                })
                .collect();
            let mut outcomes = Vec::new();
            for t in tasks {
                outcomes.push(t.await.unwrap());
            }
            let left = presidents(&s, &[&pair[0].1, &pair[1].1]).await;
            assert_eq!(
                left.len(),
                1,
                "{backend:?} round {round} ({first:?}, {second:?}, themselves: {themselves}): \
                 {outcomes:?} left {left:?}"
            );
            let survivor = pair.iter().find(|(login, _)| *login == left[0]).unwrap();
            keeper = survivor.clone();
        }
    }
}
