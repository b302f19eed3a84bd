import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { AppModel } from './models/app';
import { CallMedia } from './models/callMedia';
import { CallerModel } from './models/caller';
import { RestClient } from './protocol/rest';
import { BacklineSocket, defaultSocketUrl } from './protocol/socket';
import { browserEffects } from './lib/effects';
import { browserWorkspaceStorage } from './lib/workspace';
import { takeSsoReturn } from './lib/sso';
import { browserMediaDeps, tabDeviceId } from './lib/voice';
import { CallerPage } from './views/voice/CallerPage/CallerPage';
import './styles.css';

const root = createRoot(document.getElementById('root')!);

if (window.location.pathname === '/call') {
  // the click-to-call page: no sign-in, its own token per call
  const api = new RestClient();
  let caller: CallerModel | null = null;
  const media = new CallMedia(
    browserMediaDeps({
      iceServers: async () => [],
      sendSignal: (callId, to, signal) => caller?.sendSignal(callId, to, signal),
    }),
    tabDeviceId(),
  );
  caller = new CallerModel(api, (token) => new BacklineSocket({ url: defaultSocketUrl(), token }), media);
  (window as unknown as { __backlineCaller: unknown }).__backlineCaller = caller;
  document.title = 'Call us · Backline';
  root.render(
    <StrictMode>
      <CallerPage model={caller} />
    </StrictMode>,
  );
} else {
  const api = new RestClient();
  const socket = new BacklineSocket({ url: defaultSocketUrl() });
  const media = new CallMedia(
    browserMediaDeps({
      iceServers: async () => (await api.iceServers()).ice_servers,
      sendSignal: (callId, to, signal) => socket.sendSignal(callId, to, signal),
    }),
    tabDeviceId(),
  );
  const model = new AppModel(api, socket, browserEffects, media, browserWorkspaceStorage());

  // Test and support hook: lets an end-to-end test drop the socket like a network failure would.
  (window as unknown as { __backline: unknown }).__backline = {
    dropSocket: () => socket.drop(),
    socketStatus: () => socket.status,
    lastSeq: () => socket.lastSeq,
    deviceId: () => media.device,
  };

  // The identity provider's callback leaves `#sso=<one-time code>` (or `#sso_error=…`): taken out of the address at once.
  const sso = takeSsoReturn(window.location, window.history);

  root.render(
    <StrictMode>
      <App model={model} adminApi={api} sso={sso} />
    </StrictMode>,
  );
}
