//! The channels this server offers, by name (configured in settings; the
//! sandbox where enabled).

use std::collections::HashMap;

use crate::platform::channels::PaymentChannel;
use crate::platform::channels::sandbox::SignedChannel;

/// The channels this server accepts, by name.
#[derive(Default)]
pub struct Channels {
    by_name: HashMap<&'static str, Box<dyn PaymentChannel>>,
    sandbox: Option<SignedChannel>,
}

impl Channels {
    pub fn insert(&mut self, channel: Box<dyn PaymentChannel>) {
        self.by_name.insert(channel.name(), channel);
    }

    /// The sandbox, which is also a channel by the name `sandbox`.
    pub fn insert_sandbox(&mut self, channel: SignedChannel) {
        self.by_name.insert("sandbox", Box::new(channel.clone()));
        self.sandbox = Some(channel);
    }

    pub fn get(&self, name: &str) -> Option<&dyn PaymentChannel> {
        self.by_name.get(name).map(|c| c.as_ref())
    }

    /// The sandbox channel, where it is enabled (it signs its own callbacks).
    pub fn sandbox(&self) -> Option<&SignedChannel> {
        self.sandbox.as_ref()
    }
}
