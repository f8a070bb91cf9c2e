//! Entry point of the visualiser (built by Trunk from the root `index.html`).

fn main() {
    switchyard_web::start();
}
