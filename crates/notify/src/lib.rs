//! ardoise's notification channels: each adapter implements the domain's
//! [`ardoise_domain::Sender`] port for one [`ardoise_domain::Channel`].
