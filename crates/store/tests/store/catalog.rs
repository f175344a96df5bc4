use std::collections::BTreeMap;

use ardoise_domain::ports::Catalog;
use ardoise_domain::{DomainError, Product};

use crate::common::*;

fn product(name: &str, unit: i64, bundles: &[(u32, i64)], category: Option<&str>) -> Product {
    Product {
        name: name.into(),
        unit_price: cents(unit),
        bundles: bundles
            .iter()
            .map(|(q, p)| (*q, cents(*p)))
            .collect::<BTreeMap<_, _>>(),
        category: category.map(str::to_owned),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_are_created_replaced_and_listed_by_name() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        assert_eq!(
            s.products().await.unwrap(),
            [product("biere", 180, &[], None)]
        );
        s.add_category("boissons".into(), chrono::Utc::now())
            .await
            .unwrap();
        s.add_category("softs".into(), chrono::Utc::now())
            .await
            .unwrap();
        let beer = product("biere", 200, &[(6, 1000), (2, 350)], Some("boissons"));
        s.set_product(beer.clone()).await.unwrap();
        s.set_product(product("Coca 33cl", 150, &[], Some("softs")))
            .await
            .unwrap();
        assert_eq!(s.product("biere").await.unwrap(), Some(beer));
        assert_eq!(s.product("vin").await.unwrap(), None);

        // Replacing drops the old bundles and category.
        let replaced = product("biere", 180, &[(3, 500)], None);
        s.set_product(replaced.clone()).await.unwrap();
        assert_eq!(
            s.products().await.unwrap(),
            [product("Coca 33cl", 150, &[], Some("softs")), replaced]
        );
        assert_eq!(db.count("product_bundles"), 1);

        assert!(matches!(
            s.set_product(product("x", -1, &[], None)).await,
            Err(DomainError::Malformed(_))
        ));
        assert!(matches!(
            s.set_product(product("x", 1, &[(0, 1)], None)).await,
            Err(DomainError::Malformed(_))
        ));
        assert_eq!(s.products().await.unwrap().len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_keep_their_products_pointing_at_them() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let s = &db.store;
        let now = chrono::Utc::now();
        let drinks = s.add_category("boissons".into(), now).await.unwrap();
        let food = s.add_category("snacks".into(), now).await.unwrap();
        assert_ne!(drinks.id, food.id);
        assert_eq!(
            s.add_category("boissons".into(), now).await,
            Err(DomainError::CategoryExists)
        );
        assert_eq!(
            s.categories().await.unwrap(),
            [drinks.clone(), food.clone()]
        );
        assert_eq!(s.category(drinks.id).await.unwrap(), Some(drinks.clone()));

        // A product names an existing category, or none.
        s.add_product(product("coca", 150, &[(6, 800)], Some("boissons")))
            .await
            .unwrap();
        assert_eq!(
            s.add_product(product("coca", 150, &[], None)).await,
            Err(DomainError::ProductExists)
        );
        assert_eq!(
            s.add_product(product("vin", 300, &[], Some("nope"))).await,
            Err(DomainError::UnknownCategory)
        );
        assert_eq!(
            s.update_product(product("coca", 150, &[], Some("nope")))
                .await,
            Err(DomainError::UnknownCategory)
        );
        assert_eq!(
            s.update_product(product("vin", 150, &[], None)).await,
            Err(DomainError::UnknownProduct)
        );
        assert_eq!(
            s.set_product(product("vin", 300, &[], Some("nope"))).await,
            Err(DomainError::UnknownCategory)
        );
        assert_eq!(s.product("vin").await.unwrap(), None);

        // A rename carries the products along; a deletion leaves them without a category.
        assert_eq!(
            s.rename_category(drinks.id, "snacks".into()).await,
            Err(DomainError::CategoryExists)
        );
        assert!(s.rename_category(drinks.id, "softs".into()).await.unwrap());
        let coca = s.product("coca").await.unwrap().unwrap();
        assert_eq!(coca.category.as_deref(), Some("softs"));
        assert_eq!(coca.bundles.len(), 1);
        assert!(s.delete_category(drinks.id).await.unwrap());
        assert!(!s.delete_category(drinks.id).await.unwrap());
        assert_eq!(s.product("coca").await.unwrap().unwrap().category, None);

        assert!(s.delete_product("coca").await.unwrap());
        assert!(!s.delete_product("coca").await.unwrap());
        assert_eq!(db.count("product_bundles"), 0);
    }
}
