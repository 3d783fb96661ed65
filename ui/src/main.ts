// Entry point: mounts the app into index.html's #app. Global styles come first so component
// styles can rely on the theme variables.
import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';
import { startEvents } from './lib/api/events';

// The app's updates come through one channel handed to the Rust side now, before any screen.
startEvents();

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

export default mount(App, { target });
