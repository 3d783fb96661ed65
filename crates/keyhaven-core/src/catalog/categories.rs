//! The categories a catalog entry can be filed under, with the label a person reads. One list
//! for the CLI (`keyhaven providers list --category C`) and the desktop's grouped catalog, so a
//! misspelt category in a file is an error, not a group of one.

use serde::Serialize;

/// A category: the id written in `categories = [...]` and its label.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Category {
    /// Id, as in the files and on the command line.
    pub id: &'static str,
    /// What a person reads.
    pub label: &'static str,
}

const fn c(id: &'static str, label: &'static str) -> Category {
    Category { id, label }
}

/// Every category, in the order the desktop shows its groups.
pub const CATEGORIES: &[Category] = &[
    c("dev-tools", "Developer tools"),
    c("source-control", "Source control"),
    c("hosting", "Hosting and deployment"),
    c("cloud", "Cloud"),
    c("cdn", "CDN and edge"),
    c("dns", "DNS and domains"),
    c("storage", "Storage"),
    c("data", "Data and databases"),
    c("ai", "AI and machine learning"),
    c("monitoring", "Monitoring and incidents"),
    c("security", "Security"),
    c("identity", "Identity"),
    c("productivity", "Productivity"),
    c("project-management", "Project management"),
    c("knowledge", "Notes and knowledge"),
    c("design", "Design"),
    c("scheduling", "Scheduling"),
    c("communication", "Communication"),
    c("email", "Email and messaging"),
    c("social", "Social"),
    c("media", "Media"),
    c("marketing", "Marketing"),
    c("crm", "CRM and sales"),
    c("support", "Customer support"),
    c("commerce", "Commerce"),
    c("finance", "Payments and finance"),
    c("accounting", "Accounting"),
    c("hr", "HR and people"),
    c("fitness", "Fitness"),
    c("mcp", "MCP servers"),
    c("generic", "Generic"),
    c("custom", "Your own providers"),
];

/// The category with this id.
pub fn category(id: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.id == id)
}
