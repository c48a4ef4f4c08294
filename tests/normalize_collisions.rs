//! Different queries never share a fingerprint, in the shapes where a weak hash failed:
//! names that differ in a numeric suffix (`tbl_10408`, `tbl_10485`: pgferret 0.1 gave
//! them one fingerprint, and 4,848 of 200,000 `tbl_N` collided), tenant schemas
//! (`shard_NNNNN.orders`), quoted mixed-case names, long identifiers, and one query
//! shape with its constant at different positions.
//!
//! The statements are distinct by construction (each differs from every other in a name
//! or in where its constant stands, which normalization keeps), and the always-run test
//! checks that their normalized texts are indeed all different before counting
//! fingerprints. With a sound 64-bit hash, n statements collide with probability about
//! n²/2⁶⁵: 10⁻⁹ for 200,000, 10⁻⁶ for 6,000,000.
//!
//! The 6,000,000-statement version is `#[ignore]`d (minutes in a debug build):
//! `cargo test --release --test normalize_collisions -- --ignored`.

use std::collections::HashSet;

use pgferret::normalize::Normalizer;

/// How many shapes [`statement`] has.
const SHAPES: usize = 7;

/// Statement `i` of shape `shape`, written into `out`.
fn statement(shape: usize, i: usize, out: &mut String) {
    use std::fmt::Write as _;
    out.clear();
    let _ = match shape {
        0 => write!(out, "select * from tbl_{i}"),
        1 => write!(
            out,
            "SELECT o.id, o.total FROM shard_{i:05}.orders o WHERE o.customer_id = 42"
        ),
        // Quoted names keep their case: the case pattern of `tenantdata` is the low 10
        // bits of i, the suffix the rest.
        2 => {
            let name: String = "tenantdata"
                .chars()
                .enumerate()
                .map(|(b, c)| match i >> b & 1 {
                    1 => c.to_ascii_uppercase(),
                    _ => c,
                })
                .collect();
            write!(
                out,
                r#"select "{name}_{}"."Events", "Col" from "Acme""s" where x = 'a'"#,
                i >> 10
            )
        }
        // Long names that differ only at the end, past the first 64 bytes.
        3 => write!(
            out,
            "update customer_order_line_item_archive_partition_for_the_year_2024_{i} set qty = 0"
        ),
        // Long names that differ only in the middle.
        4 => write!(
            out,
            "select a from reporting_{i}_materialized_view_of_daily_revenue_by_region_and_channel"
        ),
        // One query with its constant at one of 8 positions, over i / 8 tables.
        5 => {
            let cols: Vec<String> = (0..8)
                .map(|c| match c == i % 8 {
                    true => "7".to_string(),
                    false => format!("c{c}"),
                })
                .collect();
            write!(out, "select {} from t{}", cols.join(", "), i / 8)
        }
        _ => write!(
            out,
            "SELECT col_{i} FROM events WHERE id IN (1, 2, 3) AND kind = 'k' LIMIT 10"
        ),
    };
}

/// Fingerprints `per_shape` statements of each shape; returns (statements, distinct
/// fingerprints). With `texts`, also checks that the normalized texts are all different.
fn count(per_shape: usize, texts: bool) -> (usize, usize) {
    let mut norm = Normalizer::new();
    let mut sql = String::new();
    let mut text = String::new();
    let mut seen_texts = HashSet::new();
    let mut fps = Vec::with_capacity(SHAPES * per_shape);
    for shape in 0..SHAPES {
        for i in 0..per_shape {
            statement(shape, i, &mut sql);
            let fp = if texts {
                let fp = norm.normalize_into(sql.as_bytes(), &mut text);
                assert!(seen_texts.insert(text.clone()), "duplicate: {text}");
                fp
            } else {
                norm.fingerprint(sql.as_bytes())
            };
            fps.push(fp);
        }
    }
    let n = fps.len();
    fps.sort_unstable();
    fps.dedup();
    (n, fps.len())
}

#[test]
fn the_issue_s_pair_differs() {
    let mut norm = Normalizer::new();
    assert_ne!(
        norm.fingerprint(b"select * from tbl_10408"),
        norm.fingerprint(b"select * from tbl_10485")
    );
}

#[test]
fn two_hundred_thousand_distinct_statements_give_as_many_fingerprints() {
    let (n, distinct) = count(30_000, true);
    assert_eq!(n, 210_000);
    assert_eq!(distinct, n, "{} collisions", n - distinct);
}

#[test]
#[ignore = "6,000,000 statements: run in release, see the module docs"]
fn six_million_distinct_statements_give_as_many_fingerprints() {
    let (n, distinct) = count(6_000_000 / SHAPES + 1, false);
    assert!(n >= 6_000_000);
    assert_eq!(distinct, n, "{} collisions", n - distinct);
}
