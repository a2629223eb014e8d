//! The district tree (country, state, municipality, ...) as every component walks it: a voter, a Mesa and a
//! census line belong to a leaf; a contest declared for a district is on the ballots of every leaf under it;
//! a shard declared for a district serves the leaves under it; routing falls back to the nearest ancestor.
//!
//! Every walk up is bounded by the tree's size, so a cycle in a list that was not validated
//! ([`crate::validate_manifest`] refuses them) ends instead of looping.

use crate::manifest::District;

/// A view of a district list as a tree.
#[derive(Debug, Clone, Copy)]
pub struct Districts<'a> {
    all: &'a [District],
}

impl<'a> Districts<'a> {
    pub fn new(all: &'a [District]) -> Self {
        Self { all }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.all.iter().any(|d| d.id == id)
    }

    /// The enclosing district of `id`, if `id` is known and has one.
    pub fn parent(&self, id: &str) -> Option<&'a str> {
        self.all.iter().find(|d| d.id == id).and_then(|d| d.parent.as_deref())
    }

    /// `id` followed by its ancestors, nearest first (just `id` when it is unknown).
    pub fn self_and_ancestors<'b>(&self, id: &'b str) -> Vec<&'b str>
    where
        'a: 'b,
    {
        let mut chain = vec![id];
        let mut cur = self.parent(id);
        while let Some(p) = cur {
            if chain.contains(&p) || chain.len() > self.all.len() {
                break;
            }
            chain.push(p);
            cur = self.parent(p);
        }
        chain
    }

    /// Whether `id` is `root` or lies under it.
    pub fn is_under(&self, id: &str, root: &str) -> bool {
        self.self_and_ancestors(id).contains(&root)
    }

    /// Whether no district names `id` as its parent (a known district where ballots are cast, or an unknown id).
    pub fn is_leaf(&self, id: &str) -> bool {
        !self.all.iter().any(|d| d.parent.as_deref() == Some(id))
    }

    /// The leaf districts, in declaration order.
    pub fn leaves(&self) -> Vec<&'a str> {
        self.all.iter().map(|d| d.id.as_str()).filter(|id| self.is_leaf(id)).collect()
    }

    /// The leaf districts at or under `root` (all leaves when `None`), in declaration order.
    pub fn leaves_under(&self, root: Option<&str>) -> Vec<&'a str> {
        self.leaves().into_iter().filter(|l| root.is_none_or(|r| self.is_under(l, r))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: &str, parent: Option<&str>) -> District {
        District { id: id.into(), name: id.into(), parent: parent.map(str::to_owned) }
    }

    #[test]
    fn walks_the_tree() {
        let all = [
            d("mx", None),
            d("cdmx", Some("mx")),
            d("centro", Some("cdmx")),
            d("norte", Some("cdmx")),
            d("jal", Some("mx")),
        ];
        let t = Districts::new(&all);
        assert_eq!(t.leaves(), ["centro", "norte", "jal"]);
        assert_eq!(t.leaves_under(Some("cdmx")), ["centro", "norte"]);
        assert_eq!(t.leaves_under(Some("jal")), ["jal"]);
        assert_eq!(t.leaves_under(None), ["centro", "norte", "jal"]);
        assert_eq!(t.self_and_ancestors("centro"), ["centro", "cdmx", "mx"]);
        assert_eq!(t.self_and_ancestors("nowhere"), ["nowhere"]);
        assert!(t.is_leaf("norte") && !t.is_leaf("cdmx"));
        assert!(t.is_under("norte", "mx") && !t.is_under("jal", "cdmx"));
    }

    #[test]
    fn a_cycle_ends() {
        let all = [d("a", Some("b")), d("b", Some("a"))];
        assert_eq!(Districts::new(&all).self_and_ancestors("a"), ["a", "b"]);
        assert!(Districts::new(&all).leaves().is_empty());
    }
}
