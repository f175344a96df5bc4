//! Writes a 10p5 database as `mariadb-dump` would, for the import benchmark
//! (`make bench-import`): `tenp5_dump CARDS TRANSACTIONS > 10p5.sql`. Deterministic: cards
//! with an opening balance and a history of top-ups, payments (by amount and by quantity) and
//! cancelled transactions, one card in fifty whose balance disagrees with its history, and
//! four staff users.

// An example, not the service: a bad argument may stop it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufWriter, Write};

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

fn main() -> std::io::Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("CARDS TRANSACTIONS"))
        .collect();
    let (cards, transactions) = match args.as_slice() {
        [c, t] if *c > 0 && t >= c => (*c, *t),
        _ => panic!("usage: tenp5_dump CARDS TRANSACTIONS (TRANSACTIONS ≥ CARDS ≥ 1)"),
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut rng = Lcg(10_005);
    writeln!(
        out,
        "-- 10p5 benchmark data: {cards} cards, {transactions} transactions"
    )?;
    writeln!(out, "/*!40103 SET TIME_ZONE='+00:00' */;")?;
    writeln!(
        out,
        "CREATE TABLE `Clients` (`idCarte` char(8) NOT NULL, `solde` float(7,2) DEFAULT NULL, \
         `decouvert` tinyint(1) DEFAULT 0, PRIMARY KEY (`idCarte`)) ENGINE=InnoDB;"
    )?;
    writeln!(
        out,
        "CREATE TABLE `Prix` (`produit` char(30) DEFAULT NULL, `prix` float(7,2) DEFAULT NULL);"
    )?;
    writeln!(out, "INSERT INTO `Prix` VALUES ('biere',1.80);")?;
    writeln!(
        out,
        "CREATE TABLE `Transactions` (`id` bigint(20) unsigned NOT NULL AUTO_INCREMENT, \
         `type` char(15) DEFAULT NULL, `client` char(8) DEFAULT NULL, `date` timestamp NOT NULL \
         DEFAULT current_timestamp(), `montant` float(7,2) DEFAULT NULL, `quantite` int(2) \
         DEFAULT NULL, `utilisateur` char(30) DEFAULT NULL, `valide` tinyint(1) DEFAULT 1, \
         PRIMARY KEY (`id`)) ENGINE=InnoDB;"
    )?;
    writeln!(
        out,
        "CREATE TABLE `Utilisateurs` (`login` char(30) NOT NULL, `mdp` char(255) DEFAULT NULL, \
         `idCarte` char(8) DEFAULT NULL, `droit` int(11) DEFAULT 0, PRIMARY KEY (`login`));"
    )?;
    // bcrypt of "benchmark-password" (cost 4): the import keeps hashes, it does not check them.
    let hash = "$2y$04$6nKq2Qy1hCPyIc3v0F8yPe0yL7a3pG9s0iNQyqXH9e8aF9mUO0m2K";
    writeln!(
        out,
        "INSERT INTO `Utilisateurs` VALUES ('prez','{hash}','PREZ0001',3),\
         ('barman','{hash}','BARM0001',2),('bde','{hash}',NULL,1),\
         ('default','{hash}','OHCEE7UH',3);"
    )?;

    let mut balances = vec![0i64; usize::try_from(cards).unwrap()];
    let mut id = 0u64;
    let mut second = 1_460_368_800i64;
    let mut rows = Vec::with_capacity(1000);
    let flush = |out: &mut BufWriter<_>, rows: &mut Vec<String>| -> std::io::Result<()> {
        if !rows.is_empty() {
            writeln!(out, "INSERT INTO `Transactions` VALUES {};", rows.join(","))?;
            rows.clear();
        }
        Ok(())
    };
    for t in 0..transactions {
        id += 1;
        second += 1 + i64::try_from(rng.below(30)).unwrap();
        let date = chrono::DateTime::from_timestamp(second, 0).unwrap();
        let (card, kind, cents, quantity) = if t < cards {
            (t, 1, 500 + i64::try_from(rng.below(4500)).unwrap(), 0)
        } else {
            let card = rng.below(cards);
            match rng.below(5) {
                0 => (card, 2, 1000, 0),
                1 => {
                    let q = 1 + rng.below(3);
                    (card, 3, 180 * i64::try_from(q).unwrap(), q)
                }
                _ => (card, 3, 120 + 10 * i64::try_from(rng.below(20)).unwrap(), 0),
            }
        };
        let i = usize::try_from(card).unwrap();
        let delta = if kind == 3 { -cents } else { cents };
        let valid = balances[i] + delta >= 0 && rng.below(20) != 0;
        if valid {
            balances[i] += delta;
        }
        rows.push(format!(
            "({id},'{kind}','C{card:07}','{}',{},{quantity},'barman',{})",
            date.format("%Y-%m-%d %H:%M:%S"),
            euros(cents),
            u8::from(valid)
        ));
        if rows.len() == 1000 {
            flush(&mut out, &mut rows)?;
        }
    }
    flush(&mut out, &mut rows)?;
    let clients: Vec<String> = balances
        .iter()
        .enumerate()
        .map(|(i, b)| {
            // One card in fifty lost a top-up of 10.00 to 10p5's lost updates.
            let stored = if i % 50 == 7 { b - 1000 } else { *b };
            format!("('C{i:07}',{},0)", euros(stored))
        })
        .collect();
    for chunk in clients.chunks(1000) {
        writeln!(out, "INSERT INTO `Clients` VALUES {};", chunk.join(","))?;
    }
    out.flush()
}
