//! The empty baseline app: one window showing a static page, nothing else.
fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("empty app failed to start");
}
