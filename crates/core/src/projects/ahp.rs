//! The analytic hierarchy process (AHP): weights of n criteria from a pairwise comparison
//! matrix on Saaty's 1–9 scale, and the matrix's consistency ratio. A matrix whose
//! consistency ratio is 0.1 or more is refused: its judgements contradict each other.

use crate::FieldErrors;

/// Saaty's random consistency index for n = 1..=15.
const RANDOM_INDEX: [f64; 15] =
    [0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59];

/// The largest consistency ratio accepted.
pub const MAX_CONSISTENCY_RATIO: f64 = 0.1;

/// Weights derived from a pairwise matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// One per criterion, summing to 1.
    pub weights: Vec<f64>,
    /// The principal eigenvalue λmax.
    pub lambda_max: f64,
    /// CI = (λmax − n) / (n − 1).
    pub consistency_index: f64,
    /// CR = CI / RI(n); 0 for n ≤ 2.
    pub consistency_ratio: f64,
}

/// Checks `m` (square, positive, 1 on the diagonal, reciprocal, values from 1/9 to 9) and
/// derives its weights; refuses it when its consistency ratio is 0.1 or more. Each problem
/// names its cell (`matrix[i][j]`, 0-based).
pub fn weigh(m: &[Vec<f64>]) -> Result<Weights, FieldErrors> {
    let mut e = FieldErrors::default();
    let n = m.len();
    if n == 0 {
        e.add("matrix", "判断矩阵为空");
        return Err(e);
    }
    if n > RANDOM_INDEX.len() {
        e.add("matrix", format!("判断矩阵最多 {} 阶", RANDOM_INDEX.len()));
        return Err(e);
    }
    for (i, row) in m.iter().enumerate() {
        if row.len() != n {
            e.add(format!("matrix[{i}]"), format!("第 {} 行有 {} 个值，应为 {n} 个", i + 1, row.len()));
        }
    }
    if !e.is_empty() {
        return Err(e);
    }
    for (i, row) in m.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            let cell = format!("matrix[{i}][{j}]");
            if !v.is_finite() || v <= 0.0 {
                e.add(cell, "须为正数");
            } else if i == j && (v - 1.0).abs() > 1e-9 {
                e.add(cell, "对角线须为 1");
            } else if !(1.0 / 9.0 - 1e-9..=9.0 + 1e-9).contains(&v) {
                e.add(cell, "须在 1/9 到 9 之间（Saaty 标度）");
            } else if j > i && (v * m[j][i] - 1.0).abs() > 0.01 {
                e.add(cell, format!("与 matrix[{j}][{i}] 不互为倒数"));
            }
        }
    }
    if !e.is_empty() {
        return Err(e);
    }
    let w = principal_eigenvector(m);
    // λmax from A·w = λ·w, averaged over the components.
    let lambda_max = (0..n).map(|i| (0..n).map(|j| m[i][j] * w[j]).sum::<f64>() / w[i]).sum::<f64>() / n as f64;
    let ci = if n > 2 { ((lambda_max - n as f64) / (n as f64 - 1.0)).max(0.0) } else { 0.0 };
    let cr = if n > 2 { ci / RANDOM_INDEX[n - 1] } else { 0.0 };
    if cr >= MAX_CONSISTENCY_RATIO {
        e.add("matrix", format!("一致性比率 CR = {cr:.3}，须小于 {MAX_CONSISTENCY_RATIO}：判断前后矛盾，请调整"));
        return Err(e);
    }
    Ok(Weights { weights: w, lambda_max, consistency_index: ci, consistency_ratio: cr })
}

/// The principal eigenvector of a positive matrix by power iteration, normalized to sum 1.
fn principal_eigenvector(m: &[Vec<f64>]) -> Vec<f64> {
    let n = m.len();
    let mut w = vec![1.0 / n as f64; n];
    for _ in 0..1000 {
        let mut next: Vec<f64> = (0..n).map(|i| (0..n).map(|j| m[i][j] * w[j]).sum()).collect();
        let sum: f64 = next.iter().sum();
        next.iter_mut().for_each(|x| *x /= sum);
        let moved = next.iter().zip(&w).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        w = next;
        if moved < 1e-12 {
            break;
        }
    }
    w
}

/// A consistent matrix from weights (a_ij = w_i / w_j): what a set of weights entered
/// directly stands for.
pub fn matrix_of(weights: &[f64]) -> Vec<Vec<f64>> {
    weights.iter().map(|a| weights.iter().map(|b| a / b).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_textbook_matrix_gives_its_weights_and_ratio() {
        // Saaty's classic 3×3 example.
        let m = vec![vec![1.0, 3.0, 5.0], vec![1.0 / 3.0, 1.0, 3.0], vec![1.0 / 5.0, 1.0 / 3.0, 1.0]];
        let w = weigh(&m).unwrap();
        let expect = [0.637, 0.258, 0.105];
        for (a, b) in w.weights.iter().zip(expect) {
            assert!((a - b).abs() < 0.002, "{:?}", w.weights);
        }
        assert!((w.lambda_max - 3.039).abs() < 0.002, "{}", w.lambda_max);
        assert!((w.consistency_ratio - 0.033).abs() < 0.003, "{}", w.consistency_ratio);
    }

    #[test]
    fn contradictory_judgements_are_refused_with_their_ratio() {
        // A > B, B > C, but C ≫ A.
        let m = vec![vec![1.0, 5.0, 1.0 / 7.0], vec![1.0 / 5.0, 1.0, 5.0], vec![7.0, 1.0 / 5.0, 1.0]];
        let e = weigh(&m).unwrap_err();
        assert!(e.get("matrix").unwrap().contains("一致性比率"), "{e}");
    }

    #[test]
    fn malformed_matrices_name_the_cell() {
        let e = weigh(&[vec![1.0, 2.0], vec![0.4, 1.0]]).unwrap_err();
        assert!(e.get("matrix[0][1]").unwrap().contains("倒数"), "{e}");
        let e = weigh(&[vec![1.0, 12.0], vec![1.0 / 12.0, 1.0]]).unwrap_err();
        assert!(e.get("matrix[0][1]").is_some(), "{e}");
        let e = weigh(&[vec![2.0, 1.0], vec![1.0, 1.0]]).unwrap_err();
        assert!(e.get("matrix[0][0]").unwrap().contains("对角线"), "{e}");
        let e = weigh(&[vec![1.0, 1.0], vec![1.0]]).unwrap_err();
        assert!(e.get("matrix[1]").is_some(), "{e}");
        assert!(weigh(&[]).is_err());
        let e = weigh(&[vec![1.0, f64::NAN], vec![1.0, 1.0]]).unwrap_err();
        assert!(e.get("matrix[0][1]").is_some(), "{e}");
    }

    proptest! {
        /// Any weights give back themselves from their consistent matrix, with CR ≈ 0.
        #[test]
        fn consistent_matrices_give_back_their_weights(raw in proptest::collection::vec(1u32..9, 1..10)) {
            let sum: f64 = raw.iter().map(|&r| r as f64).sum();
            let weights: Vec<f64> = raw.iter().map(|&r| r as f64 / sum).collect();
            let w = weigh(&matrix_of(&weights)).unwrap();
            for (a, b) in w.weights.iter().zip(&weights) {
                prop_assert!((a - b).abs() < 1e-6);
            }
            prop_assert!(w.consistency_ratio < 1e-6);
            prop_assert!((w.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }

        /// Whatever reciprocal matrix on the scale: weights are positive and sum to 1, and
        /// either CR < 0.1 or the matrix is refused for its ratio.
        #[test]
        fn any_reciprocal_matrix_is_weighed_or_refused_for_consistency(
            cells in proptest::collection::vec(proptest::sample::select(vec![1.0/9.0, 1.0/5.0, 1.0/3.0, 1.0, 3.0, 5.0, 9.0]), 10)
        ) {
            let n = 5;
            let mut m = vec![vec![1.0; n]; n];
            let pairs = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j)));
            for ((i, j), v) in pairs.zip(&cells) {
                m[i][j] = *v;
                m[j][i] = 1.0 / *v;
            }
            match weigh(&m) {
                Ok(w) => {
                    prop_assert!(w.consistency_ratio < MAX_CONSISTENCY_RATIO);
                    prop_assert!(w.weights.iter().all(|x| *x > 0.0));
                    prop_assert!((w.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
                }
                Err(e) => prop_assert!(e.get("matrix").is_some_and(|m| m.contains("一致性比率"))),
            }
        }
    }
}
