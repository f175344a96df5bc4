//! The members' use cases over the in-memory reference: rights, validation by field, edits,
//! one member per card, and a card's validity for a member.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use ardoise_domain::ports::{Clock, Ledger, MemberDirectory};
use ardoise_domain::{CardStatus, DomainError, MemberId, Members, Page, ProfileField};
use common::*;
use futures::executor::block_on;

#[test]
fn members_rules() {
    let f = fixture();
    let members = Members::new(
        f.ledger.clone() as Arc<dyn MemberDirectory>,
        f.ledger.clone() as Arc<dyn Ledger>,
        f.clock.clone() as Arc<dyn Clock>,
    );
    let bde = actor("bde", 1);
    let honeypot = actor("honey", 0);
    block_on(async {
        let name = [(ProfileField::LastName, Some("Durand"))];
        assert_eq!(
            members.create(&honeypot, &name).await,
            Err(DomainError::InsufficientRights)
        );
        let bad = [
            (ProfileField::LastName, Some("Durand")),
            (ProfileField::Phone, Some("06 12 34 56 78")),
        ];
        let e = members.create(&bde, &bad).await.unwrap_err();
        assert!(e.to_string().contains("`phone`"), "{e}");
        assert_eq!(members.page(&bde, Page::default()).await.unwrap().total, 0);

        let a = members.create(&bde, &name).await.unwrap();
        let b = members
            .create(&bde, &[(ProfileField::DisplayName, Some("Les Lurons"))])
            .await
            .unwrap();
        let edited = members
            .edit(
                &bde,
                a.id,
                &[(ProfileField::Mobile, Some("0041 79 123 45 67"))],
            )
            .await
            .unwrap();
        assert_eq!(edited.profile.mobile.as_deref(), Some("+41791234567"));
        assert_eq!(edited.profile.last_name.as_deref(), Some("Durand"));
        assert_eq!(edited.revision, 2);
        assert_eq!(
            members.edit(&bde, MemberId(99), &name).await,
            Err(DomainError::UnknownMember)
        );

        f.bar
            .open_card(&actor("prez", 3), &card("CARD0001"), money("5"), false)
            .await
            .unwrap();
        members
            .link_card(&bde, a.id, &card("CARD0001"))
            .await
            .unwrap();
        assert_eq!(
            members.link_card(&bde, b.id, &card("CARD0001")).await,
            Err(DomainError::CardLinkedToOther)
        );
        let v = members
            .card_validity(None, a.id, &card("CARD0001"))
            .await
            .unwrap();
        assert!(v.valid());
        let v = members
            .card_validity(None, b.id, &card("CARD0001"))
            .await
            .unwrap();
        assert!(!v.valid() && !v.owned && v.card.valid());
        f.bar
            .set_card_status(&bde, &card("CARD0001"), CardStatus::Blocked)
            .await
            .unwrap();
        let v = members
            .card_validity(Some(&bde), a.id, &card("CARD0001"))
            .await
            .unwrap();
        assert!(!v.valid() && v.owned);
        assert_eq!(
            members
                .card_validity(None, MemberId(99), &card("CARD0001"))
                .await,
            Err(DomainError::UnknownMember)
        );
        let page = members.cards(None, a.id, Page::default()).await.unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(
            members.cards(Some(&honeypot), a.id, Page::default()).await,
            Err(DomainError::InsufficientRights)
        );
        assert_eq!(
            members.unlink_card(&bde, b.id, &card("CARD0001")).await,
            Err(DomainError::CardNotLinked)
        );
        members
            .unlink_card(&bde, a.id, &card("CARD0001"))
            .await
            .unwrap();
        members
            .link_card(&bde, b.id, &card("CARD0001"))
            .await
            .unwrap();
    });
}
