//! The web suite: a real server on port 0 with the demo city, driven over HTTP.

mod support;

mod authz;
mod bad_input;
mod browser;
mod channel;
mod city;
mod ckan;
mod contracts;
mod dcat;
mod exchange;
mod library;
mod nodes;
mod pages;
mod portal;
mod project_pages;
mod projects;
mod rows;
mod search;
mod security;
mod sharing;
mod stories;
mod systems;
