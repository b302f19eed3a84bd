import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { AppModel } from './models/app';
import { RestClient } from './protocol/rest';
import { BacklineSocket, defaultSocketUrl } from './protocol/socket';
import { browserEffects } from './lib/effects';
import './styles.css';

const api = new RestClient();
const socket = new BacklineSocket({ url: defaultSocketUrl() });
const model = new AppModel(api, socket, browserEffects);

// Test and support hook: lets an end-to-end test drop the socket like a network failure would.
(window as unknown as { __backline: unknown }).__backline = {
  dropSocket: () => socket.drop(),
  socketStatus: () => socket.status,
  lastSeq: () => socket.lastSeq,
};

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App model={model} />
  </StrictMode>,
);
