//! Multi-exponentiation `Π b_i^(e_i) mod m` by the bucket method (Pippenger): the squarings are shared by all
//! bases and each base costs about one multiplication per window, which is what makes batch verification cheap.

use rayon::prelude::*;
use rug::Integer;

/// `Π bases[i]^(exps[i]) mod m`, split across the rayon pool. Exponents must be non-negative.
pub(crate) fn multi_exp(terms: &[(&Integer, Integer)], m: &Integer) -> Integer {
    let threads = rayon::current_num_threads().max(1);
    // Below a few hundred terms per thread the split costs more squarings than it saves.
    let chunk = terms.len().div_ceil(threads).max(256);
    terms.par_chunks(chunk).map(|part| multi_exp_serial(part, m)).reduce(|| Integer::from(1), |a, b| (a * b) % m)
}

fn multi_exp_serial(terms: &[(&Integer, Integer)], m: &Integer) -> Integer {
    let max_bits = terms.iter().map(|(_, e)| e.significant_bits()).max().unwrap_or(0);
    if max_bits == 0 {
        return Integer::from(1);
    }
    let c = window_bits(terms.len(), max_bits);
    let windows = max_bits.div_ceil(c);
    let mut acc = Integer::from(1);
    let mut buckets: Vec<Option<Integer>> = vec![None; 1 << c];
    for win in (0..windows).rev() {
        if acc != 1 {
            for _ in 0..c {
                acc.square_mut();
                acc %= m;
            }
        }
        for (base, e) in terms {
            let d = digit(e, win * c, c);
            if d != 0 {
                match &mut buckets[d] {
                    Some(x) => {
                        *x *= *base;
                        *x %= m;
                    }
                    slot @ None => *slot = Some((*base).clone()),
                }
            }
        }
        // Π_d bucket[d]^d with 2·2^c multiplications: a running product from the top digit down.
        let mut running: Option<Integer> = None;
        let mut sum: Option<Integer> = None;
        for d in (1..buckets.len()).rev() {
            if let Some(x) = buckets[d].take() {
                running = Some(match running {
                    Some(r) => (r * x) % m,
                    None => x,
                });
            }
            if let Some(r) = &running {
                sum = Some(match sum {
                    Some(s) => (s * r) % m,
                    None => r.clone(),
                });
            }
        }
        if let Some(s) = sum {
            acc *= s;
            acc %= m;
        }
    }
    acc
}

/// The window minimising `windows · (terms + 2^(c+1))` multiplications.
fn window_bits(terms: usize, max_bits: u32) -> u32 {
    (1..=16u32).min_by_key(|&c| u64::from(max_bits.div_ceil(c)) * (terms as u64 + (2u64 << c))).unwrap_or(1)
}

fn digit(e: &Integer, start: u32, width: u32) -> usize {
    (0..width).filter(|&i| e.get_bit(start + i)).fold(0usize, |d, i| d | (1 << i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_separate_exponentiations() {
        let m = Integer::from(1_000_000_007u64) * Integer::from(998_244_353u64);
        for count in [1usize, 2, 5, 40, 600] {
            let bases: Vec<Integer> = (0..count).map(|i| Integer::from(i * 7919 + 3)).collect();
            let terms: Vec<(&Integer, Integer)> = bases
                .iter()
                .enumerate()
                .map(|(i, b)| (b, (Integer::from(i) * 1_234_567_891u64 + 17u32) << (i % 70)))
                .collect();
            let expected = terms.iter().fold(Integer::from(1), |acc, (b, e)| {
                let p = Integer::from(b.pow_mod_ref(e, &m).expect("non-negative exponent"));
                acc * p % &m
            });
            assert_eq!(multi_exp(&terms, &m), expected, "{count} terms");
        }
    }

    #[test]
    fn empty_and_zero_exponents_give_one() {
        let m = Integer::from(101);
        assert_eq!(multi_exp(&[], &m), 1);
        let b = Integer::from(5);
        assert_eq!(multi_exp(&[(&b, Integer::new())], &m), 1);
    }
}
