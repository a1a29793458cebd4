//! The audit log of staff actions (SVC-2): who did what to which object,
//! when and why. Written in the same transaction as the action it records;
//! readable by admins only.

pub mod routes;

use diesel::prelude::*;

use crate::platform::db::DbConnection;
use crate::platform::db::schema::audit_log;
use crate::platform::error::AppResult;
use crate::platform::state::AppState;

/// Who acted: a staff account, or the command line.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    Staff(i64),
    Cli,
    System,
}

/// One staff action to record.
pub struct Entry<'a> {
    pub actor: Actor,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<String>,
    pub reason: Option<&'a str>,
    pub details: Option<serde_json::Value>,
    pub ip: Option<&'a str>,
}

impl<'a> Entry<'a> {
    /// A staff member's action on one target, without reason or details.
    pub fn staff(staff_id: i64, action: &'a str, target_type: &'a str, target_id: i64) -> Self {
        Entry {
            actor: Actor::Staff(staff_id),
            action,
            target_type,
            target_id: Some(target_id.to_string()),
            reason: None,
            details: None,
            ip: None,
        }
    }
}

/// Writes an entry (SVC-2).
pub fn record(conn: &mut DbConnection, st: &AppState, entry: Entry<'_>) -> AppResult<()> {
    let (actor_id, label) = match entry.actor {
        Actor::Staff(id) => (Some(id), format!("staff:{id}")),
        Actor::Cli => (None, "cli".to_string()),
        Actor::System => (None, "system".to_string()),
    };
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_id.eq(actor_id),
            audit_log::actor_label.eq(label),
            audit_log::action.eq(entry.action),
            audit_log::target_type.eq(entry.target_type),
            audit_log::target_id.eq(entry.target_id),
            audit_log::reason.eq(entry.reason),
            audit_log::details.eq(entry.details.map(|d| d.to_string())),
            audit_log::ip.eq(entry.ip),
            audit_log::created_at.eq(st.clock.now_naive()),
        ))
        .execute(conn)?;
    Ok(())
}
