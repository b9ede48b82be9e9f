//! The sandbox: an emulator of the SecureAuth System API (token + organizations).
