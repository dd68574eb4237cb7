// Entry point: the styles and the app, mounted in index.html's #app.
import { render } from 'preact';
import './styles.css';
import { App } from './app.tsx';

render(<App />, document.getElementById('app')!);
