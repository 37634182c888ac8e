//! Boundaries: which domain may import what. Extraction (tree-sitter), resolution to repo
//! files or external packages, rules from `.comm-node/config.yaml`, reports and the graph.

pub mod imports;
