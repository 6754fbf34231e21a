//! Graph algorithms over node indices, shared by validation and the parsed document.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Kahn's algorithm, always taking the lowest-indexed ready node so that the order depends
/// only on the document, never on hashing. `None` if the graph has a cycle.
pub(super) fn topological_order(successors: &[Vec<usize>]) -> Option<Vec<usize>> {
    let mut in_degree = vec![0usize; successors.len()];
    for targets in successors {
        for &t in targets {
            in_degree[t] += 1;
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = in_degree
        .iter()
        .enumerate()
        .filter(|(_, d)| **d == 0)
        .map(|(i, _)| Reverse(i))
        .collect();
    let mut order = Vec::with_capacity(successors.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &t in &successors[i] {
            in_degree[t] -= 1;
            if in_degree[t] == 0 {
                ready.push(Reverse(t));
            }
        }
    }
    (order.len() == successors.len()).then_some(order)
}

/// A cycle found by [`find_cycle`]: the nodes along it, first node not repeated, and the
/// edge that closes it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Cycle {
    pub nodes: Vec<usize>,
    pub closing_edge: usize,
}

/// Finds one cycle by depth-first search, iteratively so that a long chain cannot overflow
/// the stack. `successors[n]` lists `(target, edge index)` pairs; searching in node and edge
/// order makes the reported cycle deterministic.
pub(super) fn find_cycle(successors: &[Vec<(usize, usize)>]) -> Option<Cycle> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Unvisited,
        OnPath,
        Done,
    }
    let mut state = vec![State::Unvisited; successors.len()];
    for start in 0..successors.len() {
        if state[start] != State::Unvisited {
            continue;
        }
        // Each frame is a node on the current path and how many of its successors were tried.
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = State::OnPath;
        while let Some(&mut (node, ref mut tried)) = path.last_mut() {
            let Some(&(next, edge)) = successors[node].get(*tried) else {
                state[node] = State::Done;
                path.pop();
                continue;
            };
            *tried += 1;
            match state[next] {
                State::Unvisited => {
                    state[next] = State::OnPath;
                    path.push((next, 0));
                }
                State::OnPath => {
                    let from = path
                        .iter()
                        .position(|&(n, _)| n == next)
                        .expect("a node on the path is in the path");
                    return Some(Cycle {
                        nodes: path[from..].iter().map(|&(n, _)| n).collect(),
                        closing_edge: edge,
                    });
                }
                State::Done => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diamond_is_ordered_parents_first_with_ties_in_index_order() {
        // 0 -> 2, 0 -> 1, 1 -> 3, 2 -> 3
        let successors = vec![vec![2, 1], vec![3], vec![3], vec![]];
        assert_eq!(topological_order(&successors), Some(vec![0, 1, 2, 3]));
    }

    #[test]
    fn a_cyclic_graph_has_no_topological_order() {
        let successors = vec![vec![1], vec![0]];
        assert_eq!(topological_order(&successors), None);
    }

    #[test]
    fn the_cycle_found_lists_its_nodes_and_the_closing_edge() {
        // 0 -e0-> 1 -e1-> 2 -e2-> 1, and 2 -e3-> 3
        let successors = vec![vec![(1, 0)], vec![(2, 1)], vec![(1, 2), (3, 3)], vec![]];
        assert_eq!(
            find_cycle(&successors),
            Some(Cycle {
                nodes: vec![1, 2],
                closing_edge: 2
            })
        );
    }

    #[test]
    fn a_long_chain_is_searched_without_recursion() {
        let n = 100_000;
        let successors: Vec<Vec<(usize, usize)>> = (0..n)
            .map(|i| if i + 1 < n { vec![(i + 1, i)] } else { vec![] })
            .collect();
        assert_eq!(find_cycle(&successors), None);
    }
}
