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
