//! The domain dependency graph: one edge per (from, to) domain pair with the number of
//! imports behind it and how many of them break a rule; rendered as DOT, Mermaid or JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use super::report::Report;
use crate::config::Config;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
    /// Imports along this edge.
    pub count: usize,
    /// Of those, imports that break a rule.
    pub violations: usize,
}

/// A chain of imports breaking an indirect rule: from a domain to the domain (or, outside
/// any, the file) it must not reach, through the files of `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphChain {
    pub from: String,
    pub to: String,
    /// `a.py:3 -> b.py:7 -> c.py`.
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Graph {
    pub nodes: Vec<String>,
    pub edges: Vec<GraphEdge>,
    pub chains: Vec<GraphChain>,
}

impl Graph {
    pub fn build(config: &Config, report: &Report) -> Graph {
        let mut counts: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
        for edge in &report.edges {
            let entry = counts
                .entry((edge.from.clone(), edge.to.clone()))
                .or_default();
            entry.0 += 1;
            entry.1 += usize::from(edge.violation);
        }
        let chains: Vec<GraphChain> = report
            .findings
            .iter()
            .filter(|f| !f.chain.is_empty())
            .map(|f| GraphChain {
                from: f.source_domain.clone(),
                to: f.target_domain.clone().unwrap_or_else(|| f.target.clone()),
                path: f.chain_text(),
            })
            .collect();
        let mut nodes: Vec<String> = config.domains.keys().cloned().collect();
        let mut seen: std::collections::HashSet<String> = nodes.iter().cloned().collect();
        let targets = counts
            .keys()
            .map(|(_, to)| to)
            .chain(chains.iter().map(|c| &c.to));
        for to in targets {
            if seen.insert(to.clone()) {
                nodes.push(to.clone());
            }
        }
        let edges = counts
            .into_iter()
            .map(|((from, to), (count, violations))| GraphEdge {
                from,
                to,
                count,
                violations,
            })
            .collect();
        Graph {
            nodes,
            edges,
            chains,
        }
    }

    pub fn dot(&self) -> String {
        let mut out = String::from("digraph domains {\n  rankdir=LR;\n");
        for node in &self.nodes {
            out.push_str(&format!("  \"{node}\";\n"));
        }
        for e in &self.edges {
            let style = if e.violations > 0 {
                format!(
                    " color=red fontcolor=red label=\"{} ({} violating)\"",
                    e.count, e.violations
                )
            } else {
                format!(" label=\"{}\"", e.count)
            };
            out.push_str(&format!(
                "  \"{}\" -> \"{}\" [{}];\n",
                e.from,
                e.to,
                style.trim()
            ));
        }
        for c in &self.chains {
            out.push_str(&format!(
                "  \"{}\" -> \"{}\" [style=dashed color=red fontcolor=red label=\"indirect\" tooltip=\"{}\"];\n  // chain: {}\n",
                c.from, c.to, c.path, c.path
            ));
        }
        out.push_str("}\n");
        out
    }

    pub fn mermaid(&self) -> String {
        let id = |name: &str| -> String {
            name.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect()
        };
        let mut out = String::from("graph LR\n");
        for node in &self.nodes {
            out.push_str(&format!("  {}[\"{node}\"]\n", id(node)));
        }
        let mut violating = Vec::new();
        for (i, e) in self.edges.iter().enumerate() {
            let label = if e.violations > 0 {
                violating.push(i.to_string());
                format!("{} ({} violating)", e.count, e.violations)
            } else {
                e.count.to_string()
            };
            out.push_str(&format!("  {} -->|{label}| {}\n", id(&e.from), id(&e.to)));
        }
        for (i, c) in self.chains.iter().enumerate() {
            violating.push((self.edges.len() + i).to_string());
            out.push_str(&format!(
                "  {} -.->|indirect| {}\n  %% chain: {}\n",
                id(&c.from),
                id(&c.to),
                c.path
            ));
        }
        if !violating.is_empty() {
            out.push_str(&format!("  linkStyle {} stroke:red\n", violating.join(",")));
        }
        out
    }
}
