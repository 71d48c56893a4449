import { Layer } from "effect"
import type { ReceiverConfig } from "../config/ReceiverConfig.ts"
import type { IngressBindError } from "../ingress/ZmqIngress.ts"
import { layerUdpIngress } from "../ingress/UdpIngress.ts"
import { layerCurveIngress } from "../ingress/CurveIngress.ts"
import type { HeartbeatRouter } from "../routing/HeartbeatRouter.ts"

/**
 * The ways in next to the plain ZeroMQ socket, each only when receiver.yaml configures it (issue 19):
 * UDP and CURVE. Each fails the start (like the ZeroMQ socket) when it cannot bind.
 */
export const layerExtraIngress = (config: ReceiverConfig): Layer.Layer<never, IngressBindError, HeartbeatRouter> => {
  const ingress = config.ingress
  const layers: Array<Layer.Layer<never, IngressBindError, HeartbeatRouter>> = []
  if (ingress?.udp !== undefined) layers.push(layerUdpIngress(ingress.udp))
  if (ingress?.curve !== undefined) layers.push(layerCurveIngress(ingress.curve))
  return layers.length === 0 ? Layer.empty : Layer.mergeAll(...(layers as [Layer.Layer<never, IngressBindError, HeartbeatRouter>]))
}
